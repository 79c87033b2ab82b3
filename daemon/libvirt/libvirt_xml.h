/* SPDX-License-Identifier: MIT */
/*
 * Reading and writing the two things vcmad needs from libvirt domain XML:
 * the vcma channel (where the guest agent's virtio-serial port surfaces on
 * the host) and the vcma desired state kept under <metadata>.
 *
 * Pure functions over strings (libxml2), no libvirt connection, so they are
 * tested against fixtures. The XML comes from whoever can edit a domain
 * (virsh edit, virsh metadata): every value is checked and anything off is
 * an error with a message, never a partial result.
 */
#ifndef VCMA_LIBVIRT_XML_H
#define VCMA_LIBVIRT_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcma_proto.h"
#include "vm_registry.h"

/* The vcma metadata namespace: stable, documented in the README. */
#define VCMA_LV_NS_URI		"https://vcma.invalid/xmlns/vcma/1"
#define VCMA_LV_NS_PREFIX	"vcma"
/* libvirt's namespace for extra QEMU arguments. */
#define VCMA_LV_QEMU_NS_URI	"http://libvirt.org/schemas/domain/qemu/1.0"

/* Bounds on what metadata may ask for; past them the state is refused. */
#define VCMA_LV_MAX_RESERVATIONS 16		/* <reservation> elements */
#define VCMA_LV_MAX_RANGES	256		/* sum of their counts */
#define VCMA_LV_MAX_SIZE	(1ull << 40)	/* 1 TiB, any size or target */
#define VCMA_LV_MIN_ALIGN	4096ull
#define VCMA_LV_MAX_ALIGN	(1ull << 30)

#define VCMA_LV_ERRLEN		256
#define VCMA_LV_PATHLEN		108		/* sun_path */

struct vcma_lv_reservation {
	uint64_t size;			/* bytes per range, multiple of 4 KiB */
	uint64_t align;			/* bytes, power of two; 0 = daemon default */
	uint64_t below;			/* below='4G': ranges end at or below; 0 = anywhere */
	uint32_t count;			/* ranges of this size, >= 1 */
	char label[VCMA_LABEL_MAX + 1];	/* printable ASCII, may be empty */
};

struct vcma_lv_desired {
	uint32_t nr;			/* used entries of rsv[] */
	struct vcma_lv_reservation rsv[VCMA_LV_MAX_RESERVATIONS];
	bool has_balloon;
	uint64_t balloon_target;	/* bytes the balloon should hold */
};

/*
 * Finds the vcma channel in a domain's XML: <channel type='unix'> whose
 * <target type='virtio' name='NAME'/> (NAME is port_name, "org.vcma.0" when
 * NULL), with <source mode='bind' path='...'/>. Returns 1 and the socket
 * path when there is exactly one, 0 when there is none, -EINVAL (message in
 * err) when the XML is malformed or the channel is unusable (two of them,
 * no path, mode not bind, not virtio).
 */
int vcma_lv_find_channel(const char *domain_xml, const char *port_name,
			 char path[VCMA_LV_PATHLEN], char err[VCMA_LV_ERRLEN]);

/*
 * Finds a QMP socket of the domain's own: libvirt keeps QEMU's monitor to
 * itself, so an operator who wants host reclaim for the balloon gives QEMU a
 * second one in the qemu namespace,
 *   <qemu:commandline><qemu:arg value='-qmp'/>
 *     <qemu:arg value='unix:/run/vcma/NAME.qmp,server=on,wait=off'/></qemu:commandline>
 * Returns 1 and the path, 0 when there is none, -EINVAL (message in err)
 * when a -qmp argument is not a unix socket vcmad can use.
 */
int vcma_lv_find_qmp(const char *domain_xml, char path[VCMA_LV_PATHLEN],
		     char err[VCMA_LV_ERRLEN]);

/*
 * Whether the domain's memory is pinned on the host, so that punching its
 * backing would leave a device (or mlock) on the old pages: a <hostdev> in
 * <devices> (VFIO or mdev passthrough), <interface type='hostdev'>, a vDPA
 * interface or disk, <memoryBacking><locked/> or a confidential guest
 * (<launchSecurity>). Returns 1 with
 * the reason for the operator in why, 0 when neither, -EINVAL (message in
 * err) when the XML is malformed.
 */
int vcma_lv_find_pinning(const char *domain_xml, char why[VCMA_LV_ERRLEN],
			 char err[VCMA_LV_ERRLEN]);

/*
 * Whether the domain's RAM is a shared backend vcmad can punch:
 * <memoryBacking> with <access mode='shared'/> and a memfd or file source
 * (or none). Returns 1 with the reason in why when it is not, 0 when it
 * is, -EINVAL (message in err) when the XML is malformed.
 */
int vcma_lv_find_unshared(const char *domain_xml, char why[VCMA_LV_ERRLEN],
			  char err[VCMA_LV_ERRLEN]);

/*
 * Parses the vcma desired state: a <vcma:config> element in the vcma
 * namespace, the same without namespace (as virDomainGetMetadata returns
 * it), or a whole domain XML carrying it under <metadata>. Returns 1 with *out filled,
 * 0 with *out empty when a domain XML has no vcma metadata, -EINVAL with a
 * message in err for anything malformed or out of bounds (*out empty).
 */
int vcma_lv_parse_desired(const char *xml, struct vcma_lv_desired *out,
			  char err[VCMA_LV_ERRLEN]);

/*
 * Formats desired state as the <config> element virDomainSetMetadata takes:
 * without namespace, libvirt puts the whole element into the one it is
 * given. Returns a malloc'ed
 * string or NULL on ENOMEM / invalid state (message in err).
 */
char *vcma_lv_format_desired(const struct vcma_lv_desired *d, char err[VCMA_LV_ERRLEN]);

bool vcma_lv_desired_equal(const struct vcma_lv_desired *a,
			   const struct vcma_lv_desired *b);

#endif /* VCMA_LIBVIRT_XML_H */
