"""The official `openai` Python client against `rlhf serve`: completions, chat, both streamed and
not, models, and an error. Exits non-zero with a message on the first mismatch.

    python3 openai_client_check.py http://127.0.0.1:8080/v1 MODEL
"""
import sys

import openai
from openai import OpenAI

base, model = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=60)

completion = client.completions.create(model=model, prompt="Human: hello", max_tokens=8, seed=5, temperature=0.9)
assert completion.object == "text_completion" and len(completion.choices) == 1, completion
assert completion.usage.completion_tokens >= 1 and completion.usage.prompt_tokens >= 1, completion.usage
streamed = "".join(chunk.choices[0].text for chunk in
                   client.completions.create(model=model, prompt="Human: hello", max_tokens=8, seed=5, temperature=0.9, stream=True))
assert streamed == completion.choices[0].text, (streamed, completion.choices[0].text)

chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}], max_tokens=8, seed=2)
assert chat.choices[0].message.role == "assistant" and isinstance(chat.choices[0].message.content, str), chat
chat_streamed = "".join(chunk.choices[0].delta.content or "" for chunk in
                        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}], max_tokens=8, seed=2, stream=True))
assert chat_streamed == chat.choices[0].message.content, (chat_streamed, chat.choices[0].message.content)

assert [m.id for m in client.models.list()] == [model]
try:
    client.completions.create(model=model, prompt="hi", max_tokens=100000)
    raise AssertionError("max_tokens above the limit was accepted")
except openai.BadRequestError as error:
    assert "max_tokens" in str(error), error
print("openai client: completions, chat, streaming, models and errors agree")
