"""The providers' keep-alive HTTP/1.1 connection against a raw socket server that answers with given bytes."""

import http.client
import socket
import threading

import pytest

from journeys.providers.keepalive import KeepAliveConnection, request_head


class CannedServer:
    """Accepts connections; for each request read, writes the next canned answer (then closes if told)."""

    def __init__(self, answers: list[bytes], *, close_after: set[int] = frozenset()) -> None:
        self.answers, self.close_after = list(answers), set(close_after)
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        answered = 0
        while answered < len(self.answers):
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with client:
                while answered < len(self.answers):
                    request = _read_request(client)
                    if request is None:
                        break
                    self.requests.append(request)
                    client.sendall(self.answers[answered])
                    answered += 1
                    if answered in self.close_after:
                        break

    def close(self) -> None:
        self._listener.close()


def _read_request(client: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += client.recv(65536)
    return data


@pytest.fixture
def serve():
    servers = []

    def start(answers, **kwargs):
        server = CannedServer(answers, **kwargs)
        servers.append(server)
        return server, KeepAliveConnection("127.0.0.1", server.port, timeout=2)

    yield start
    for server in servers:
        server.close()


HEAD = request_head("127.0.0.1", None, False, {"Accept": "application/json"})


def test_a_request_is_one_write_with_host_length_and_body(serve):
    server, connection = serve([b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"])

    response = connection.post("/send", HEAD, b"To=%2B1")

    assert (response.status, response.body, response.will_close) == (201, b"{}", False)
    assert server.requests == [
        b"POST /send HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Length: 7\r\n\r\nTo=%2B1"
    ]


def test_the_connection_is_kept_for_the_next_request(serve):
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n[12]"
    server, connection = serve([answer, answer])

    assert connection.post("/a", HEAD, b"1").body == b"[12]"
    assert connection.post("/a", HEAD, b"2").body == b"[12]"
    assert server.connections == 1


def test_a_chunked_answer_is_joined_and_headers_are_read_by_lower_case_name(serve):
    _server, connection = serve(
        [
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'4;ext=1\r\n{"co\r\n6\r\nde": 1\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n'
        ]
    )

    response = connection.post("/a", HEAD, b"")

    assert response.status == 429
    assert response.headers["retry-after"] == "3"
    assert response.body == b'{"code": 1}'


def test_an_interim_answer_is_skipped(serve):
    _server, connection = serve([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx"])

    assert connection.post("/a", HEAD, b"").status == 201


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\n\r\nok",  # no length: the body ends with the connection
    ],
)
def test_an_answer_that_ends_the_connection_closes_it(serve, answer):
    _server, connection = serve([answer], close_after={1})

    response = connection.post("/a", HEAD, b"")

    assert (response.body, response.will_close) == (b"ok", True)
    assert connection.sock is None


def test_a_server_that_closed_the_idle_connection_is_noticed_before_the_next_request(serve):
    _server, connection = serve([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], close_after={1})
    connection.post("/a", HEAD, b"")
    connection.sock.settimeout(2)
    # The server closed its end after answering; the poll sees the end of the stream.
    for _ in range(200):
        if connection.closed_while_idle():
            break
        threading.Event().wait(0.01)

    assert connection.closed_while_idle()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", http.client.RemoteDisconnected),
        (b"SMTP ready\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", http.client.HTTPException),
    ],
)
def test_a_broken_answer_raises_the_standard_librarys_errors(serve, answer, error):
    _server, connection = serve([answer], close_after={1})

    with pytest.raises(error):
        connection.post("/a", HEAD, b"")


def test_host_names_a_port_only_when_it_is_not_the_schemes_own():
    assert request_head("api.example", 443, True, {}) == b"Host: api.example\r\n"
    assert request_head("api.example", 8443, True, {}) == b"Host: api.example:8443\r\n"
    assert request_head("127.0.0.1", 80, False, {"A": "b"}) == b"Host: 127.0.0.1\r\nA: b\r\n"
