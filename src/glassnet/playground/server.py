"""The playground's web server (Flask): a static page and a small JSON API.

Routes (every answer is JSON, errors as ``{"error": "..."}`` with a 4xx status):

=========================================  ===================================================
``GET /``, ``GET /app.js``                 the page (``static/index.html``, ``static/app.js``)
``GET /api/limits``                        caps, datasets, activations and default settings
``POST /api/sessions`` ``{config}``        201: a new session's ``id`` and snapshot (with the
                                           points); evicts the least recently used session
                                           beyond ``max_sessions``
``GET /api/sessions/<id>``                 its snapshot (with the points)
``POST /api/sessions/<id>/step``           ``{"steps": n}``, 1 <= n <= 100: train n steps,
                                           answer the snapshot
``POST /api/sessions/<id>/config``         ``{"config": {...}}``: change lr, batch_size, l1,
                                           l2 while training (other settings: new session)
``POST /api/sessions/<id>/reset``          new random weights, step 0
``DELETE /api/sessions/<id>``              204
=========================================  ===================================================

The page polls: while training runs it asks for a few steps, draws the answer and asks again,
so the server holds no background thread and every request is bounded (steps, body size,
network size, number of points). Bad JSON, unknown keys or values out of range answer 400,
an unknown or evicted session 404, a body over 16 KiB 413; the server keeps serving.
"""
from __future__ import annotations

import json
import math
import threading
import webbrowser
from importlib import resources

import numpy as np
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from .datasets import DATASETS
from .model import ACTIVATIONS
from .config import LIMITS, Config
from .session import SessionNotFound, SessionStore

__all__ = ["create_app", "make_playground_server", "serve"]

_STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
           "/app.js": ("app.js", "text/javascript; charset=utf-8")}


def _finite(obj):
    """NaN/Inf (a diverged network) → None, so the answer is valid JSON for the browser."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _diagram(model, x=None):
    """``gn.viz.diagram(model, x)`` (SVG text; neurons coloured by their values for the point
    ``x``) when glassnet.viz has that function, else None."""
    from .. import viz
    draw = getattr(viz, "diagram", None)
    if draw is None:
        return None
    try:
        return str(draw(model) if x is None else draw(model, x=np.asarray([x], np.float32)))
    except Exception as e:          # an optional picture must not stop the training page
        return f"<!-- gn.viz.diagram failed: {type(e).__name__}: {e} -->"


def _body() -> dict:
    """The request body as a JSON object ({} when empty); 400 names what is wrong."""
    raw = request.get_data(cache=False)     # raises 413 beyond MAX_CONTENT_LENGTH
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"request body: expected JSON, got invalid JSON ({e})") from None
    if not isinstance(body, dict):
        raise ValueError(f"request body: expected a JSON object, got {type(body).__name__}")
    return body


def create_app(store: SessionStore | None = None) -> Flask:
    """The Flask application; ``store`` defaults to a new :class:`SessionStore`."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = LIMITS["max_body_bytes"]
    store = store if store is not None else SessionStore()
    app.extensions["playground_store"] = store
    static = resources.files(__package__) / "static"

    def answer(sid, session, change=None, points=False, status=200):
        """Apply ``change(session)`` and snapshot it under the session's lock (one step's
        answer shows that step, whatever other requests do meanwhile)."""
        with session.lock:
            if change is not None:
                change(session)
            snap = session.snapshot(points=points)
            point = snap["notation"]["values"]["x"] if snap["notation"] else None
            snap["diagram"] = _diagram(session.model, point)
        snap["id"] = sid
        snap["diverged"] = snap["loss"]["train"] is None or \
            not math.isfinite(snap["loss"]["train"])
        return jsonify(_finite(snap)), status

    @app.errorhandler(HTTPException)
    def http_error(e):
        return jsonify(error=f"{e.code} {e.name}: {e.description}"), e.code

    @app.errorhandler(ValueError)
    def bad_value(e):
        return jsonify(error=str(e)), 400

    @app.errorhandler(SessionNotFound)
    def no_session(e):
        return jsonify(error=f"session {e.args[0]!r}: no such session (never created, deleted, "
                             f"or evicted: at most {store.max_sessions} sessions are kept; "
                             f"create a new one)"), 404

    @app.get("/")
    @app.get("/app.js")
    def page():
        name, mime = _STATIC[request.path]
        return Response((static / name).read_text(encoding="utf-8"), mimetype=mime)

    @app.get("/api/limits")
    def limits():
        return jsonify(limits=LIMITS, datasets=list(DATASETS), activations=list(ACTIVATIONS),
                       defaults=Config().to_dict())

    @app.post("/api/sessions")
    def create():
        body = _body()
        unknown = sorted(set(body) - {"config"})
        if unknown:
            raise ValueError(f"request body: unknown key(s) {unknown}; expected {{'config': "
                             f"{{...}}}}")
        sid, session = store.create(Config.from_dict(body.get("config", {})))
        return answer(sid, session, points=True, status=201)

    @app.get("/api/sessions/<sid>")
    def show(sid):
        return answer(sid, store.get(sid), points=True)

    @app.post("/api/sessions/<sid>/step")
    def step(sid):
        session = store.get(sid)
        body = _body()
        n, cap = body.get("steps", 1), LIMITS["max_steps_per_request"]
        if set(body) - {"steps"} or isinstance(n, bool) or not isinstance(n, int) or \
                not 1 <= n <= cap:
            raise ValueError(f"step: expected {{'steps': n}} with an integer 1 <= n <= {cap}, "
                             f"got {body!r}")
        return answer(sid, session, lambda s: s.step(n))

    @app.post("/api/sessions/<sid>/config")
    def update(sid):
        session = store.get(sid)
        body = _body()
        if set(body) != {"config"}:
            raise ValueError(f"config: expected {{'config': {{...}}}}, got keys {sorted(body)}")
        return answer(sid, session, lambda s: s.update(body["config"]))

    @app.post("/api/sessions/<sid>/reset")
    def reset(sid):
        session = store.get(sid)
        return answer(sid, session, lambda s: s.reset(), points=True)

    @app.delete("/api/sessions/<sid>")
    def delete(sid):
        store.delete(sid)
        return "", 204

    return app


class _QuietHandler(WSGIRequestHandler):
    """Logs errors only: the page polls several times a second."""

    def log_request(self, code="-", size="-"):
        if str(code)[:1] not in "123":
            super().log_request(code, size)


def make_playground_server(port: int = 8000, store: SessionStore | None = None):
    """A threaded WSGI server bound to 127.0.0.1:``port`` (0: a free port, see ``.port``)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"--port {port!r}: expected an integer from 0 to 65535")
    return make_server("127.0.0.1", port, create_app(store), threaded=True,
                       request_handler=_QuietHandler)


def serve(port: int = 8000, open_browser: bool = True) -> None:
    """Serve the playground on http://127.0.0.1:``port``/ until Ctrl-C."""
    server = make_playground_server(port)
    url = f"http://127.0.0.1:{server.port}/"
    print(f"glassnet playground: {url}  (Ctrl-C stops it)", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
