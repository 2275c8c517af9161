"""Refuse oversized request bodies with 413 before they are read or parsed."""

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if scope["type"] == "http" and int(length) > self.max_bytes:
            response = JSONResponse({"error": f"request body over {self.max_bytes} bytes"}, status_code=413)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
