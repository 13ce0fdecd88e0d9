"""A local web page to check recordings: `python -m antispoof.bin.serve`.

A person who is not a researcher (a journalist, a moderator, a family sent a suspicious voice
message) drops or chooses audio files and sees, per file, the decision (bonafide, spoof,
no-speech, too-short), the score, the calibrated LLR in words where the model has one, and a
timeline of the windows' scores over the waveform, where a fake part shows; beside them, which
model answered, its card and what it cannot tell; the results download as the JSON of
`detect --format json`. The library does the scoring (`antispoof.load`), exactly as `detect`.

- antispoof.serve.app: the application (FastAPI), the upload limits, temporary files and the
  one shared detector;
- antispoof.serve.page: the page (HTML, CSS and JavaScript in one document);
- antispoof.serve.report: the words: the model's card, its decision rule, LLRs as odds, and the
  waveform envelope (no web library: tested without the extra).

**Why FastAPI with one static page, not Gradio.** Gradio is the field's convention for demos
(the AASIST and AntiDeepfake Spaces), but it is a large dependency: 52 packages in an empty
environment (FastAPI and uvicorn among them, with pandas, Pillow, httpx, orjson, ...) against
14 for FastAPI and uvicorn (about 15 MB, most of them already in the recipes' environment). It
copies every upload into its own cache folder (`GRADIO_TEMP_DIR`), emptied only where the app
sets `delete_cache`, and its generated front end is hard to drive from a browser test by stable
names. Here the page is ours, with stable element ids for the test, and the upload path is in
our hands: the request body streams straight into a temporary directory this server owns and
removes, counted against the size cap as it arrives (no multipart parser spooling to `/tmp`
behind our back), and the duration cap reads only the file's header. FastAPI and uvicorn are
the optional extra `demo` (`pip install -e '.[demo]'`): nothing else imports them, so the
recipes' environment does not grow.
"""
