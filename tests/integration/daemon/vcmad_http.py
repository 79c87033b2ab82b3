# SPDX-License-Identifier: GPL-2.0-only
"""HTTP over vcmad's unix socket, for the integration tests and the benchmark."""
import http.client
import socket


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s
