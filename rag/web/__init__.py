"""The Gradio web UI: Ask, Briefing and Library tabs over one index.

``rag.web.server.serve`` is the front end behind ``python ui.py`` and
``rag serve``: one server for this UI and the JSON HTTP API
(rag/web/api.py, under ``/api/v1``), guarded against other hosts
(rag/web/guard.py); it keeps Hugging Face offline, turns Gradio analytics
off, keeps uploads in a private temporary folder, binds 127.0.0.1 unless
told otherwise and never creates a public share link. ``build_app`` builds
the Blocks (for tests and embedding), ``mount_options`` how it is mounted.
Work runs in Gradio's queue: answers and briefings up to
``GENERATE_CONCURRENCY`` at a time, writes one at a time, listings freely, so
a long ingest never blocks a question. The UI's Gradio endpoints are private
(``api_visibility="private"``): the page calls them, ``gradio_client`` does
not; the JSON API is the documented one. What the buttons do is in
rag/web/actions.py; the HTML they show is in rag/web/render.py, the look in
rag/web/style.py. Uploads and pastes are limited by
``Settings.max_file_bytes`` like ``rag ingest`` (``rag serve --max-file-mb``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.frontend import quiet_libraries
from rag.generation.registry import CHOICES
from rag.ingest.limits import limits_help
from rag.settings import Settings
from rag.web.actions import Report, WebActions, largest_upload_bytes, safe_label
from rag.web.render import EMPTY_SOURCES, ingest_html, markup, message_html
from rag.web.style import CSS, theme
from rag.web.views import AnswerView

if TYPE_CHECKING:
    import gradio

GENERATE_CONCURRENCY = 4
QUEUE_MAX_SIZE = 256
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf"]
LIBRARY_HEADERS = ["Title", "Source", "Size", "Passages", "Added", "ID"]
LIBRARY_WIDTHS = ["31%", "19%", "11%", "10%", "15%", "14%"]
PRIVATE = "private"  # every Gradio endpoint: called by the page, not by API clients
GENERATOR_LABELS = {"auto": "auto", "seq2seq": "seq2seq (writes)", "extractive": "extractive (quotes)"}


def prepare_environment(work_dir: Path) -> None:
    """Offline models, no analytics, uploads under ``work_dir``; call before Gradio is imported."""
    quiet_libraries()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    if "gradio" not in sys.modules:  # Gradio reads its upload folder once, at import
        os.environ.setdefault("GRADIO_TEMP_DIR", str(work_dir / "gradio"))


def mount_options(settings: Settings | None = None, host: str = "127.0.0.1") -> dict[str, Any]:
    """Keyword arguments for ``gradio.mount_gradio_app``: no share link, no monitoring, local fonts.

    No footer: Gradio's links there (its API page, settings) are not for this app's users; the
    masthead links to the JSON API's OpenAPI document instead.
    """
    return {
        "server_name": host,
        "show_error": False,
        "max_file_size": largest_upload_bytes(settings or Settings()),
        "footer_links": [],
        "run_history": False,
        "enable_monitoring": False,
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
        "theme": theme(),
        "css": CSS,
    }


def _generator_value(settings: Settings) -> str:
    return settings.generator if settings.generator in CHOICES else "auto"


def _progress_reporter(progress: Any) -> Report:
    def report(done: int, total: int, desc: str, unit: str) -> None:
        progress((done, max(total, 1)), desc=desc, unit=unit)

    return report


def build_app(settings: Settings, actions: WebActions | None = None) -> gradio.Blocks:
    """The Gradio Blocks app (queue configured); launch it with ``launch_options()``."""
    import gradio as gr

    actions = actions or WebActions(settings)
    generator_choices = [(GENERATOR_LABELS.get(c, c), c) for c in CHOICES]

    with gr.Blocks(title="rag · reading room", analytics_enabled=False) as app:
        gr.HTML(
            '<div class="rag-masthead"><h1>Reading room</h1>'
            "<p>Ask your articles a question or have them briefed; every sentence points to its source. "
            '<a class="rag-api-link" href="/api/v1/openapi.json" title="The JSON HTTP API (OpenAPI document)">'
            "HTTP API</a></p></div>",
            js_on_load=None,
        )
        with gr.Tabs():
            ask_tab = _ask_tab(gr, actions, generator_choices, _generator_value(settings))
            brief_tab = _brief_tab(gr, actions, generator_choices, _generator_value(settings))
            library_tab = _library_tab(gr, actions, settings)

        pickers = [ask_tab["docs"], brief_tab["docs"], library_tab["delete_pick"]]
        refresh_outputs = [library_tab["table"], *pickers, library_tab["status"]]

        def refresh(*selected: list[str] | None) -> list[Any]:
            """The table, status and pickers; selections that still exist are kept."""
            view = actions.library()
            ids = {doc_id for _, doc_id in view.choices}
            updates = [
                gr.update(choices=view.choices, value=[d for d in chosen or [] if d in ids]) for chosen in selected
            ]
            return [view.rows, *updates, view.status]

        app.load(refresh, inputs=pickers, outputs=refresh_outputs, api_name="library", api_visibility=PRIVATE,
                 concurrency_limit=None)
        for trigger in library_tab["writes"]:
            trigger.then(refresh, inputs=pickers, outputs=refresh_outputs, api_visibility=PRIVATE,
                         concurrency_limit=None)
    app.queue(default_concurrency_limit=1, max_size=QUEUE_MAX_SIZE)
    return app


def _answer_outputs(view: AnswerView) -> tuple[str, str, str]:
    return view.answer, view.sources, view.badge


def _ask_tab(gr: Any, actions: WebActions, generator_choices: list, generator: str) -> dict[str, Any]:
    with gr.Tab("Ask", id="ask"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                question = gr.Textbox(
                    label="Question", placeholder="When did the bridge reopen?", lines=2, max_lines=6,
                    elem_id="ask-question",
                )
                with gr.Row():
                    docs = gr.Dropdown(label="Only these documents (optional)", multiselect=True, choices=[], scale=3,
                                       elem_id="ask-docs")
                    gen = gr.Dropdown(label="Generator", choices=generator_choices, value=generator, scale=2,
                                      info=actions.generator_note(), elem_id="ask-generator")
                button = gr.Button("Ask", variant="primary", elem_id="ask-button")
                badge = gr.HTML(js_on_load=None, elem_id="ask-badge")
                answer = gr.HTML(message_html("Answers appear here, with numbered links to their sources."),
                                 js_on_load=None, elem_id="ask-answer")
            with gr.Column(scale=4):
                gr.HTML('<h3 class="rag-panel-title">Sources</h3>', js_on_load=None)
                sources = gr.HTML(EMPTY_SOURCES,
                                  js_on_load=None, elem_id="ask-sources")

    def on_ask(q: str, doc_ids: list[str] | None, generator_name: str) -> tuple[str, str, str]:
        return _answer_outputs(actions.ask(q, doc_ids, generator_name))

    gr.on([button.click, question.submit], on_ask, inputs=[question, docs, gen], outputs=[answer, sources, badge],
          api_name="ask", api_visibility=PRIVATE, concurrency_limit=GENERATE_CONCURRENCY, concurrency_id="generate",
          show_progress_on=[answer])
    return {"docs": docs}


def _brief_tab(gr: Any, actions: WebActions, generator_choices: list, generator: str) -> dict[str, Any]:
    with gr.Tab("Briefing", id="brief"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                docs = gr.Dropdown(label="Documents (leave empty to use a topic, or the most recent)",
                                   multiselect=True, choices=[], elem_id="brief-docs")
                topic = gr.Textbox(label="Topic (optional)", placeholder="bridge repairs", elem_id="brief-topic")
                with gr.Row():
                    length = gr.Radio(["short", "medium", "long"], value="medium", label="Length", scale=2,
                                      elem_id="brief-length")
                    gen = gr.Dropdown(label="Generator", choices=generator_choices, value=generator, scale=2,
                                      elem_id="brief-generator")
                with gr.Row():
                    button = gr.Button("Write briefing", variant="primary", elem_id="brief-button")
                    download = gr.DownloadButton("Download Markdown", visible=False, elem_id="brief-download")
                badge = gr.HTML(js_on_load=None, elem_id="brief-badge")
                answer = gr.HTML(message_html("Briefings appear here: key points, then an overview."),
                                 js_on_load=None, elem_id="brief-answer")
                coverage = gr.HTML(js_on_load=None, elem_id="brief-coverage")
            with gr.Column(scale=4):
                gr.HTML('<h3 class="rag-panel-title">Sources</h3>', js_on_load=None)
                sources = gr.HTML(EMPTY_SOURCES,
                                  js_on_load=None, elem_id="brief-sources")

    def on_brief(doc_ids: list[str] | None, topic_text: str, size: str, generator_name: str) -> list[Any]:
        view = actions.brief(doc_ids, topic_text, size, generator_name)
        file = gr.update(value=view.markdown_path, visible=view.markdown_path is not None)
        return [*_answer_outputs(view), view.extra, file]

    button.click(on_brief, inputs=[docs, topic, length, gen], outputs=[answer, sources, badge, coverage, download],
                 api_name="brief", api_visibility=PRIVATE, concurrency_limit=GENERATE_CONCURRENCY,
                 concurrency_id="generate",
                 show_progress_on=[answer])
    return {"docs": docs}


def _library_tab(gr: Any, actions: WebActions, settings: Settings) -> dict[str, Any]:
    limit = f"{settings.max_file_bytes / 1e6:g} MB"
    with gr.Tab("Library", id="library"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                upload = gr.File(label=f"Add articles: .txt, .md, .html or .pdf, up to {limit} each",
                                 file_count="multiple", file_types=UPLOAD_TYPES, elem_id="library-upload")
                gr.HTML(f'<p class="rag-limits">{markup(limits_help(settings.max_file_bytes))}</p>',
                        js_on_load=None, elem_id="upload-limits")
                with gr.Accordion("Or paste an article", open=False):
                    paste_title = gr.Textbox(label="Title (optional)", elem_id="paste-title")
                    paste_text = gr.Textbox(label=f"Text (up to {limit})", lines=8, elem_id="paste-text")
                    paste_button = gr.Button("Add pasted text", elem_id="paste-button")
                ingest_msg = gr.HTML(js_on_load=None, elem_id="ingest-message")
            with gr.Column(scale=2):
                gr.HTML('<h3 class="rag-panel-title">Index</h3>', js_on_load=None)
                status = gr.HTML(js_on_load=None, elem_id="index-status")
        table = gr.Dataframe(headers=LIBRARY_HEADERS, datatype="str", type="array", interactive=False, wrap=True,
                             label="Documents", elem_id="library-table", column_widths=LIBRARY_WIDTHS)
        with gr.Row():
            delete_pick = gr.Dropdown(label="Documents to delete", multiselect=True, choices=[], scale=4,
                                      elem_id="delete-docs")
            delete_button = gr.Button("Delete selected", variant="stop", scale=1, elem_id="delete-button")
        delete_msg = gr.HTML(js_on_load=None, elem_id="delete-message")
    parts = {
        "upload": upload, "paste_title": paste_title, "paste_text": paste_text, "paste_button": paste_button,
        "ingest_msg": ingest_msg, "delete_pick": delete_pick, "delete_button": delete_button, "delete_msg": delete_msg,
    }
    return {"table": table, "status": status, "delete_pick": delete_pick, "writes": _library_events(gr, actions, parts)}


def _library_events(gr: Any, actions: WebActions, c: dict[str, Any]) -> list[Any]:
    """Wire upload, paste and delete; all three write, so they run one at a time."""

    def on_upload(files: list[str] | None, progress: Any = gr.Progress()) -> list[Any]:  # noqa: B008 (Gradio's idiom)
        paths = [str(f) for f in files or []]
        labels = [safe_label(Path(p).name) for p in paths]
        return [ingest_html(actions.ingest_files(paths, labels, _progress_reporter(progress))), None]

    def on_paste(text: str, title: str, progress: Any = gr.Progress()) -> list[Any]:  # noqa: B008 (Gradio's idiom)
        outcome = actions.ingest_text(text, title, _progress_reporter(progress))
        return [ingest_html(outcome), "" if outcome.ok else text, "" if outcome.ok else title]

    write = {"concurrency_id": "write", "concurrency_limit": 1}
    return [
        c["upload"].upload(on_upload, inputs=[c["upload"]], outputs=[c["ingest_msg"], c["upload"]],
                           api_name="upload", api_visibility=PRIVATE, **write),
        c["paste_button"].click(on_paste, inputs=[c["paste_text"], c["paste_title"]],
                                outputs=[c["ingest_msg"], c["paste_text"], c["paste_title"]], api_name="paste",
                                api_visibility=PRIVATE,
                                **write),
        c["delete_button"].click(actions.delete, inputs=[c["delete_pick"]], outputs=[c["delete_msg"]],
                                 api_name="delete", api_visibility=PRIVATE, **write),
    ]


__all__ = ["GENERATE_CONCURRENCY", "WebActions", "build_app", "mount_options", "prepare_environment"]
