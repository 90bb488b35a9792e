"""An httpx transport that records the exact request and response body bytes a client saw."""
import httpx


class _TeeStream(httpx.SyncByteStream):
    """Passes the response body through while appending every byte to `sink`."""

    def __init__(self, inner: httpx.SyncByteStream, sink: bytearray):
        self._inner = inner
        self._sink = sink

    def __iter__(self):
        for chunk in self._inner:
            self._sink += chunk
            yield chunk

    def close(self):
        self._inner.close()


class RecordingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport = None):
        self._inner = inner or httpx.HTTPTransport()
        self.exchanges = []  # [{"url": str, "request": bytes, "response": bytearray}]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        record = {"url": str(request.url), "request": bytes(request.content), "response": bytearray()}
        self.exchanges.append(record)
        response = self._inner.handle_request(request)
        return httpx.Response(status_code=response.status_code, headers=response.headers,
                              stream=_TeeStream(response.stream, record["response"]),
                              extensions=response.extensions, request=request)

    def close(self):
        self._inner.close()
