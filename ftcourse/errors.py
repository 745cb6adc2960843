"""The one exception a lab raises on purpose: a Korean explanation plus its English gist."""
from __future__ import annotations


class LabError(RuntimeError):
    """Stops a lab early with a message a student can act on.

    `ko` says what is wrong and what to do, in Korean; `en` is the same in one English line, so a
    search engine or a TA who reads no Korean still gets it. In Jupyter the message is shown
    without a stack trace (IPython calls `_render_traceback_`); the cell still fails, so nbval and
    "run all" stop here as they should.
    """

    def __init__(self, ko: str, en: str):
        self.ko = ko
        self.en = en
        super().__init__(f"{ko}\n[English] {en}")

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self.ko}", f"[English] {self.en}"]
