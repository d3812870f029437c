"""The web UI's look: a quiet reading room, with fonts that ship with Gradio.

Every font is local: Gradio's bundled Source Sans Pro and IBM Plex Mono
files for the controls, the system's serif fonts for article text. The page
never asks Google Fonts or any other host for anything. Gradio's bundled
semibold (and Lora) files are small subsets missing most letters, so only the
regular and bold files are used. Colours and layout only; no scripts.
"""

from __future__ import annotations

from typing import Any

SANS = ("Source Sans Pro", "ui-sans-serif", "system-ui", "sans-serif")
MONO = ("IBM Plex Mono", "ui-monospace", "Consolas", "monospace")


def theme() -> Any:
    """A Gradio theme with local fonts only and warm paper colours."""
    import gradio as gr
    from gradio.themes.utils import fonts

    sans = [fonts.LocalFont(SANS[0], weights=(400, 700)), *SANS[1:]]
    mono = [fonts.LocalFont(MONO[0], weights=(400, 700)), *MONO[1:]]
    return gr.themes.Default(
        primary_hue="emerald", secondary_hue="amber", neutral_hue="stone", font=sans, font_mono=mono,
    ).set(
        body_background_fill="#f6f3ec",
        block_background_fill="#fffdf8",
        block_border_color="#e4ddcf",
        input_background_fill="#ffffff",
        button_primary_background_fill="#1f5f4a",
        button_primary_background_fill_hover="#184c3b",
        button_primary_text_color="#ffffff",
        button_cancel_background_fill="#9b3b30",
        button_cancel_background_fill_hover="#7f2f26",
        button_cancel_text_color="#ffffff",
    )


SERIF = "Charter, 'Iowan Old Style', Georgia, 'Palatino Linotype', 'Book Antiqua', 'DejaVu Serif', serif"

CSS = """

/* One width on every tab and in every state: the container fills the window up to 1280px
   instead of shrinking to its content (Gradio's default makes it grow after an answer). */
.gradio-container { width: 100% !important; max-width: 1280px !important; margin: 0 auto !important;
  box-sizing: border-box; }
.gradio-container .tabs, .gradio-container .tabitem { width: 100%; }
.rag-answer code, .rag-msg code, .rag-status code, .rag-notice code, .rag-limits code {
  font-family: 'IBM Plex Mono', ui-monospace, monospace; font-size: 0.88em; background: #ece6da;
  border-radius: 3px; padding: 0 3px; }
.rag-limits { font-size: 0.8rem; color: #7a6f5f; margin: 2px 0 6px; white-space: pre-line; }
.rag-masthead { padding: 18px 4px 6px; border-bottom: 1px solid #e4ddcf; margin-bottom: 6px; }
.rag-masthead h1 { font-family: SERIF_STACK; font-weight: 600; font-size: 1.9rem;
  margin: 0; color: #1f2a24; letter-spacing: 0.01em; }
.rag-masthead p { margin: 4px 0 0; color: #6b6358; }
.rag-masthead a.rag-api-link { float: right; font-size: 0.85rem; color: #1f5f4a; text-decoration: none; }
.rag-masthead a.rag-api-link:hover { text-decoration: underline; }

.rag-answer, .rag-text { font-family: SERIF_STACK; color: #22201c; }
.rag-answer { font-size: 1.08rem; line-height: 1.7; padding: 4px 2px; }
.rag-answer p { margin: 0 0 0.7em; }
.rag-section { font-family: SERIF_STACK; font-weight: 600; font-size: 0.8rem;
  text-transform: uppercase; letter-spacing: 0.08em; color: #6b6358; margin: 0.6em 0 0.3em; }
.rag-points { margin: 0 0 0.8em 1.2em; padding: 0; }
.rag-points li { margin: 0 0 0.45em; }
.rag-short { background: #eef5f0; border-left: 3px solid #1f5f4a; padding: 8px 12px; border-radius: 4px; }
.rag-label { font-family: 'Source Sans Pro', sans-serif; font-size: 0.75rem; text-transform: uppercase;
  letter-spacing: 0.08em; color: #1f5f4a; margin-right: 6px; }
.rag-short.rag-uncertain { background: #fbf4e6; border-left-color: #b0823a; }
.rag-confidence { font-family: 'Source Sans Pro', sans-serif; font-size: 0.7rem; border-radius: 8px;
  padding: 1px 6px; margin-right: 6px; background: #e3efe8; color: #1f5f4a; }
.rag-uncertain .rag-confidence { background: #f8ecd6; color: #8a5a12; }
.rag-abstain { color: #6b6358; font-style: italic; }
.rag-notice { font-family: 'Source Sans Pro', sans-serif; font-size: 0.85rem; color: #7a6f5f;
  border-top: 1px dashed #e4ddcf; padding-top: 6px; margin-top: 10px; }
a.rag-cite { font-family: 'Source Sans Pro', sans-serif; font-size: 0.78em; font-weight: 600;
  color: #1f5f4a; text-decoration: none; vertical-align: super; padding: 0 1px; }
a.rag-cite:hover { text-decoration: underline; background: #e3efe8; border-radius: 3px; }
.rag-unsupported { text-decoration: underline dotted #b0823a; }
.rag-tag { font-family: 'Source Sans Pro', sans-serif; font-size: 0.7rem; color: #8a5a12;
  background: #f8ecd6; border-radius: 8px; padding: 1px 6px; }

.rag-badge { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; font-size: 0.82rem; }
.rag-badge span { border-radius: 999px; padding: 2px 10px; background: #ece6da; color: #4b443a; }
.rag-badge .rag-badge-gen { background: #1f5f4a; color: #fff; font-weight: 600; }
.rag-badge .rag-badge-model { font-family: 'IBM Plex Mono', monospace; font-size: 0.76rem; }

/* The sources panel grows with its cards (the page scrolls), so no card is ever cut off. */
.rag-sources { display: flex; flex-direction: column; gap: 14px; }
.rag-doc { display: flex; flex-direction: column; gap: 8px; }
.rag-doc-head { font-family: SERIF_STACK; font-weight: 600; color: #1f2a24; display: flex; flex-direction: column; }
.rag-doc-source { font-family: 'Source Sans Pro', sans-serif; font-weight: 400; font-size: 0.8rem; color: #7a6f5f;
  word-break: break-all; }
.rag-sources.rag-empty { color: #9a8f80; font-style: italic; padding: 12px 4px; }
.rag-source { background: #fffdf8; border: 1px solid #e4ddcf; border-left: 4px solid #c9bfae;
  border-radius: 6px; padding: 10px 14px; scroll-margin-top: 12px; transition: border-color 0.3s, box-shadow 0.3s; }
.rag-source:target { border-left-color: #1f5f4a; box-shadow: 0 0 0 2px #cfe3d8; }
.rag-source .rag-n { color: #1f5f4a; font-weight: 600; }
.rag-meta { font-size: 0.8rem; color: #7a6f5f; margin: 2px 0 8px; word-break: break-all; }
.rag-text { white-space: pre-wrap; font-size: 0.97rem; line-height: 1.6; }
mark.rag-quote { background: #fbe7a6; color: inherit; padding: 1px 0; border-radius: 2px;
  box-shadow: 0 0 0 1px #f0d479; }
.rag-full summary { cursor: pointer; font-size: 0.82rem; color: #1f5f4a; margin-top: 8px; }
.rag-full .rag-text { max-height: 40vh; overflow-y: auto; border-top: 1px solid #eee6d8;
  margin-top: 6px; padding-top: 6px; }

.rag-msg { border-radius: 6px; padding: 8px 12px; margin: 4px 0; font-size: 0.92rem; white-space: pre-wrap; }
.rag-msg-info { background: #f1ede4; color: #4b443a; }
.rag-msg-ok { background: #e6f2ea; color: #1b4d3b; border-left: 3px solid #1f5f4a; }
.rag-msg-error { background: #fbeaea; color: #7d1f1f; border-left: 3px solid #b33a3a; }
.rag-coverage ul { margin: 0 0 0 1.1em; padding: 0; font-size: 0.9rem; }
.rag-muted { color: #8a7f70; font-size: 0.85em; }

.rag-panel-title { font-family: SERIF_STACK; font-weight: 600; font-size: 1.15rem;
  color: #1f2a24; margin: 4px 0 0; }
#library-table table, #library-table td, #library-table th, #library-table span {
  font-family: 'Source Sans Pro', ui-sans-serif, system-ui, sans-serif !important; }
#library-table th, #library-table th * { white-space: nowrap !important; overflow: hidden; text-overflow: ellipsis; }
.rag-status { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0;
  font-size: 0.9rem; }
.rag-status dt { color: #7a6f5f; }
.rag-status dd { margin: 0; color: #22201c; word-break: break-word; }
""".replace("SERIF_STACK", SERIF)
