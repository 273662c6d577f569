"""The playground's HTTP API: good requests, bad requests (4xx JSON, the server keeps serving),
the caps, a real server on a free port, and the ``glassnet playground`` command."""
import http.client
import json
import subprocess
import sys
import threading

import pytest

pytest.importorskip("flask", reason="the playground needs Flask: pip install "
                    "'glassnet[playground]'")

from glassnet.playground import SessionStore  # noqa: E402
from glassnet.playground.server import create_app, make_playground_server  # noqa: E402


@pytest.fixture()
def client():
    return create_app(SessionStore(max_sessions=4)).test_client()


def _new(client, **config):
    res = client.post("/api/sessions", json={"config": config})
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def _strict(text):
    """json.loads that refuses NaN/Infinity, like the browser's JSON.parse."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_page_and_script_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for element in ('id="start"', 'id="pause"', 'id="step"', 'id="reset"', 'id="boundary"',
                    'id="notation"', 'id="diagram"', 'src="app.js"'):
        assert element in html
    js = client.get("/app.js")
    assert js.status_code == 200 and "/api/sessions" in js.get_data(as_text=True)
    limits = client.get("/api/limits").get_json()
    assert limits["limits"]["max_neurons"] == 8 and limits["limits"]["max_layers"] == 6
    assert limits["datasets"] == ["circles", "xor", "spirals", "gaussians"]
    assert limits["activations"] == ["threshold", "sigmoid", "tanh", "relu"]


def test_create_step_config_reset_delete(client):
    snap = _new(client, dataset="spirals", hidden=[5, 3], activation="relu", points=100)
    sid = snap["id"]
    assert snap["step"] == 0 and len(snap["points"]["train"]) == 70
    assert [len(layer) for layer in snap["neurons"]] == [5, 3]
    res = client.post(f"/api/sessions/{sid}/step", json={"steps": 7})
    snap = res.get_json()
    assert res.status_code == 200 and snap["step"] == 7 and "points" not in snap
    assert snap["notation"]["values"]["step"] == 7 and snap["history"]["step"] == [0, 7]
    res = client.post(f"/api/sessions/{sid}/config", json={"config": {"lr": 0.5}})
    assert res.get_json()["config"]["lr"] == 0.5
    snap = client.post(f"/api/sessions/{sid}/reset").get_json()
    assert snap["step"] == 0 and "points" in snap
    assert client.get(f"/api/sessions/{sid}").status_code == 200
    assert client.delete(f"/api/sessions/{sid}").status_code == 204
    assert client.get(f"/api/sessions/{sid}").status_code == 404


def test_the_network_diagram_is_in_the_snapshot_when_viz_has_one(client):
    import glassnet as gn
    snap = _new(client, hidden=[3])
    if not hasattr(gn.viz, "diagram"):
        assert snap["diagram"] is None          # the page keeps its placeholder
    else:
        assert snap["diagram"].lstrip().startswith(("<svg", "<?xml"))


BAD = [
    ("post", "/api/sessions", b"{not json", 400, "invalid JSON"),
    ("post", "/api/sessions", b"[1, 2]", 400, "expected a JSON object"),
    ("post", "/api/sessions", b"\xff\xfe", 400, "invalid JSON"),
    ("post", "/api/sessions", {"config": {"dataset": "moons"}}, 400, "config.dataset"),
    ("post", "/api/sessions", {"config": {"lr": -1}}, 400, "config.lr"),
    ("post", "/api/sessions", {"config": {"hidden": [8] * 7}}, 400, "at most 6"),
    ("post", "/api/sessions", {"config": {"hidden": [9]}}, 400, "from 1 to 8"),
    ("post", "/api/sessions", {"config": {"points": 100000}}, 400, "config.points"),
    ("post", "/api/sessions", {"config": []}, 400, "expected a JSON object"),
    ("post", "/api/sessions", {"confgi": {}}, 400, "unknown key"),
    ("post", "/api/sessions", {"config": {"hidden": [1] * 10 ** 4}}, 413, "Too Large"),
    ("post", "/api/sessions/SID/step", {"steps": 0}, 400, "1 <= n <= 100"),
    ("post", "/api/sessions/SID/step", {"steps": 101}, 400, "1 <= n <= 100"),
    ("post", "/api/sessions/SID/step", {"steps": "5"}, 400, "integer"),
    ("post", "/api/sessions/SID/step", {"steps": True}, 400, "integer"),
    ("post", "/api/sessions/SID/step", {"steps": 2, "lr": 1}, 400, "step: expected"),
    ("post", "/api/sessions/SID/config", {"config": {"hidden": [2]}}, 400, "new session"),
    ("post", "/api/sessions/SID/config", {"lr": 1}, 400, "expected {'config'"),
    ("post", "/api/sessions/nope/step", {"steps": 1}, 404, "no such session"),
    ("get", "/api/sessions/nope", None, 404, "no such session"),
    ("delete", "/api/sessions/nope", None, 404, "no such session"),
    ("get", "/api/nothing", None, 404, "Not Found"),
    ("put", "/api/sessions", {"config": {}}, 405, "Method Not Allowed"),
]


@pytest.mark.parametrize("method, path, body, status, message", BAD,
                         ids=[f"{b[0]} {b[1]} {b[3]} {b[4]}" for b in BAD])
def test_bad_requests_get_a_4xx_json_error_and_the_server_keeps_serving(
        client, method, path, body, status, message):
    sid = _new(client)["id"]
    kwargs = {"json": body} if isinstance(body, (dict, list)) else {"data": body}
    res = getattr(client, method)(path.replace("SID", sid), **kwargs)
    assert res.status_code == status
    assert res.is_json and message in res.get_json()["error"]
    assert client.post(f"/api/sessions/{sid}/step", json={"steps": 2}).get_json()["step"] == 2


def test_at_most_max_sessions_oldest_evicted(client):
    ids = [_new(client, points=20, batch_size=5)["id"] for _ in range(5)]
    assert client.get(f"/api/sessions/{ids[0]}").status_code == 404
    assert all(client.get(f"/api/sessions/{i}").status_code == 200 for i in ids[1:])


def test_a_diverged_network_still_answers_valid_json(client):
    snap = _new(client, hidden=[2])
    app_store = client.application.extensions["playground_store"]
    app_store.get(snap["id"]).model[0].weight.array[0, 0] = float("nan")
    res = client.post(f"/api/sessions/{snap['id']}/step", json={"steps": 1})
    body = _strict(res.get_data(as_text=True))
    assert res.status_code == 200 and body["diverged"] is True and body["loss"]["train"] is None


@pytest.fixture()
def live_server():
    server = make_playground_server(0, SessionStore(max_sessions=2))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.port
    server.shutdown()
    server.server_close()


def _request(port, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def test_a_real_server_refuses_bad_requests_and_keeps_serving(live_server):
    port = live_server
    status, body = _request(port, "POST", "/api/sessions", b'{"config": {"lr": ')
    assert status == 400 and "invalid JSON" in json.loads(body)["error"]
    status, body = _request(port, "POST", "/api/sessions", b"x" * 20_000)
    assert status == 413 and "Too Large" in json.loads(body)["error"]
    status, body = _request(port, "POST", "/api/sessions", b'{"config": {"activation": "x"}}')
    assert status == 400 and "config.activation" in json.loads(body)["error"]
    status, body = _request(port, "POST", "/api/sessions", b'{"config": {"points": 40}}')
    assert status == 201
    sid = json.loads(body)["id"]
    status, body = _request(port, "POST", f"/api/sessions/{sid}/step", b'{"steps": 3}')
    assert status == 200 and _strict(body)["step"] == 3
    status, body = _request(port, "GET", "/")
    assert status == 200 and b"glassnet playground" in body


def test_cli_serves_until_stopped_and_refuses_a_bad_port(tmp_path):
    cmd = [sys.executable, "-m", "glassnet", "playground", "--port", "0", "--no-browser"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("glassnet playground: http://127.0.0.1:"), proc.stderr.read()
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        status, body = _request(port, "GET", "/api/limits")
        assert status == 200 and json.loads(body)["limits"]["max_sessions"] == 4
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    bad = subprocess.run([sys.executable, "-m", "glassnet", "playground", "--port", "70000",
                          "--no-browser"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("glassnet: error: --port 70000: expected an integer from 0 "
                                  "to 65535")


def test_cli_without_flask_says_how_to_install_it(monkeypatch, capsys):
    from glassnet import cli
    monkeypatch.setitem(sys.modules, "glassnet.playground.server", None)
    assert cli.main(["playground", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'glassnet[playground]'" in err and err.count("\n") == 1


def test_concurrent_requests_on_one_session_are_serialised(live_server):
    status, body = _request(live_server, "POST", "/api/sessions", b'{"config": {"points": 60}}')
    sid = json.loads(body)["id"]
    answers = []

    def worker():
        for _ in range(4):
            answers.append(_request(live_server, "POST", f"/api/sessions/{sid}/step",
                                    b'{"steps": 3}'))
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(_strict(b)["step"] for s, b in answers if s == 200) == list(range(3, 49, 3))
