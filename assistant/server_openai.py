"""The OpenAI-compatible part of the server: ``GET /v1/models`` and
``POST /v1/chat/completions`` (streamed as server-sent events, or not).

The conversation's last user message is the question; earlier turns are the history, and
a follow-up is rewritten into a stand-alone question as in ``assistant chat``. The reply's
content carries the ``[n]`` markers. The response object (and the last chunk of a stream)
carries top-level extension fields, as Perplexity's API does: ``citations`` (the verified
ones: doc_id, uri, title, published, start, end, quote), ``refused``, ``refusal_reason``
and ``backend``; the ``openai`` package exposes them as attributes of the response.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.api import Assistant
from assistant.chat import ChatSession, Turn
from assistant.errors import AssistantError, InvalidQuestion
from assistant.server_schema import HAS_A_USER_MESSAGE
from assistant.types import Answer

MODEL = "assistant"


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(p.get("text", "")) for p in self.content
                            if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # temperature, max_tokens, ... are accepted; a field of the wrong type is refused
    model_config = ConfigDict(extra="allow", strict=True)
    model: str = MODEL
    messages: list[Message] = Field(json_schema_extra=HAS_A_USER_MESSAGE)
    stream: bool = False


def session_for(assistant: Assistant, messages: list[Message]) -> tuple[ChatSession, str]:
    """A chat session holding the earlier turns, and the last user message with text."""
    users = [i for i, m in enumerate(messages) if m.role == "user" and m.text().strip()]
    if not users:
        raise InvalidQuestion("the conversation has no user message with text")
    last = users[-1]
    chat = assistant.chat()
    pending: str | None = None
    for m in messages[:last]:
        if m.role == "user":
            pending = m.text()
        elif m.role == "assistant" and pending is not None:
            chat.history.append(Turn(pending, pending, Answer(
                text=m.text(), citations=[], refused=False)))
            pending = None
    return chat, messages[last].text()


def cited(answer: Answer) -> list[dict[str, Any]]:
    """The answer's citations as JSON, each with the ``[n]`` it belongs to (``source``)."""
    return [{**c.to_dict(), "source": answer.source_number(c)} for c in answer.citations]


def extension(answer: Answer, asked: str, question: str) -> dict[str, Any]:
    return {"citations": cited(answer), "refused": answer.refused,
            "refusal_reason": answer.refusal_reason, "refusal_code": answer.refusal_code,
            "backend": answer.backend,
            **({"rewritten_question": asked} if asked != question else {})}


def add_openai_routes(app: FastAPI, assistant: Assistant) -> None:
    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0,
                                            "owned_by": "assistant"}]}

    @app.post("/v1/chat/completions", response_model=None, responses={200: {
        "description": "the answer; with stream=true, chat.completion.chunk events",
        "content": {"application/json": {}, "text/event-stream": {}}}})
    def completions(req: ChatRequest) -> Any:
        chat, question = session_for(assistant, req.messages)
        asked = chat.standalone(question)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if req.stream:
            return StreamingResponse(sse(chat.answerer.stream(asked), cid=cid, created=created,
                                         model=req.model, asked=asked, question=question),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        answer = chat.answerer.ask(asked)
        return {"id": cid, "object": "chat.completion", "created": created, "model": req.model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": answer.text}}],
                "usage": usage(asked, answer.text), **extension(answer, asked, question)}


def usage(prompt: str, reply: str) -> dict[str, int]:
    p, c = len(prompt.split()), len(reply.split())  # words, as a rough token count
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def sse(pieces: Iterator[str | Answer], *, cid: str, created: int, model: str, asked: str,
        question: str) -> Iterator[bytes]:
    """The answer as chat.completion.chunk events; the last one has the extension fields.
    A failure after the stream has begun is sent as an ``error`` event."""
    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [{"index": 0, "delta": delta,
                                             "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

    yield event({"role": "assistant", "content": ""})
    said = ""
    try:
        for piece in pieces:
            if isinstance(piece, Answer):
                if not said.strip():  # e.g. a refusal decided after the LLM said nothing
                    yield event({"content": piece.text})
                yield event({}, "stop", usage=usage(asked, piece.text),
                            **extension(piece, asked, question))
            elif piece:
                said += piece
                yield event({"content": piece})
    except AssistantError as e:
        err = {"error": {"message": " ".join(str(e).split()), "type": type(e).__name__}}
        yield f"data: {json.dumps(err)}\n\n".encode()
    yield b"data: [DONE]\n\n"
