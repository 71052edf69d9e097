"""One model server of this session: where it answers, a real test request, copy-ready calls, live figures, Stop."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import errors, state
from components.markup import md
from layerlab.errors import LayerlabError
from layerlab.serve import manage

LIVE_EVERY_S = 2.0  # how often the figures are read from /metrics while the server is up


def server_view(server: manage.Server) -> None:
    """The server's card: ended (with its reason and a way to clear it) or serving."""
    with st.container(border=True):
        names = ", ".join(f"**{md(m['name'])}**" for m in server.models) or "…"
        runs = ", ".join(md(r["name"]) for r in server.runs)
        if not server.alive:
            st.markdown(f"**Model server for {runs}** · :red[:material/error: Stopped]")
            errors.show_error(LayerlabError(f"The server ended: {server.problem}",
                                                   "Start it again below; its runs are unchanged."))
            if st.button("Clear", key=f"serve_clear_{server.id}", icon=":material/delete:"):
                manage.stop_server(server.id, state.owner())
                st.rerun()
            return
        badge = ":green[:material/check_circle: Ready]" if server.ready else ":orange[:material/pending: Starting…]"
        st.markdown(f"Serving {names} · {badge}")
        st.caption(f"Runs: {runs}. It listens on this machine only (127.0.0.1): programs running here can call it.")
        if server.ready:
            _serving(server)
        else:
            _await_ready(server.id)
        if st.button("Stop serving", key=f"serve_stop_{server.id}", icon=":material/stop:"):
            manage.stop_server(server.id, state.owner())
            st.session_state.pop(_result_key(server), None)
            st.toast("The model server was stopped.", icon=":material/stop_circle:")
            st.rerun()


def _result_key(server: manage.Server) -> str:
    return f"serve_result_{server.id}"


def _serving(server: manage.Server) -> None:
    address, docs = st.columns([3, 1], vertical_alignment="bottom")
    address.code(server.url, language=None)
    docs.link_button("API docs", server.docs_url, icon=":material/description:", width="stretch")
    live_figures(server.id)
    names = [m["name"] for m in server.models]
    model = names[0] if len(names) == 1 else st.selectbox("Model", names, key=f"serve_model_{server.id}")
    example = _example(server, model)
    url = manage.predict_url(server, model)
    if st.button("Send a test request", key=f"serve_test_{server.id}", icon=":material/send:"):
        st.session_state[_result_key(server)] = manage.send_test_request(server, model)
    result = st.session_state.get(_result_key(server))
    if result is not None:
        _result(result)
    made = manage.snippets(url, example)
    st.markdown("**Call it from your own program** — filled with a real input from the run's test set")
    curl, python = st.tabs(["curl", "Python (requests)"])
    curl.code(made["curl"], language="bash")
    python.code(made["python"], language="python")


def _example(server: manage.Server, model: str) -> dict[str, Any]:
    """The model's example request, made once per server and model (it reads the run's test set)."""
    key = f"serve_example_{server.id}_{model}"
    if key not in st.session_state:
        st.session_state[key] = manage.example_for(server, model)
    return st.session_state[key]


def _result(result: dict[str, Any]) -> None:
    ok = 200 <= result["status"] < 300
    (st.success if ok else st.error)(f"POST {md(result['url'])} answered **{result['status']}**",
                                     icon=":material/check:" if ok else ":material/error:")
    sent, answer = st.columns(2)
    with sent:
        st.caption("The request")
        st.json(result["request"], expanded=2)
    with answer:
        st.caption("What came back")
        if isinstance(result["response"], (dict, list)):
            st.json(result["response"])
        else:
            st.code(result["response"], language=None)


def live_figures(server_id: str) -> None:
    """Requests, errors and latency read from the server's /metrics, every LIVE_EVERY_S while it is up."""

    @st.fragment(run_every=LIVE_EVERY_S)
    def _figures() -> None:
        with errors.guard():
            server = manage.get_server(server_id, state.owner())
            if not server.alive:
                st.rerun(scope="app")  # it ended: the card says why, and this timer stops
            figures = manage.live_figures(server)
            cols = st.columns(4)
            cols[0].metric("Requests", f"{figures['requests']:,}")
            cols[1].metric("Errors", f"{figures['errors']:,}")
            for col, name in zip(cols[2:], ("p50", "p95")):
                value = figures[f"{name}_ms"]
                col.metric(f"{name} latency", "—" if value is None else f"{value:.1f} ms",
                           help="Half (p50) or 95% (p95) of the requests were answered within this time "
                                "(read from the server's latency histogram).")

    _figures()


def _await_ready(server_id: str) -> None:
    """A server still loading (the page was reloaded while it started): look again until it is ready or ended."""

    @st.fragment(run_every=LIVE_EVERY_S)
    def _check() -> None:
        with errors.guard():
            server = manage.get_server(server_id, state.owner())
            if server.ready or not server.alive:
                st.rerun(scope="app")
            st.caption("Loading its models…")

    _check()
