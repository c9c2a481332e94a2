"""The write stage's fast paths against what they replaced: the same bytes out.

report.html's passage lists (report/html.py ``passage_html``) against the Jinja loop they
replaced, rendered by the report's own environment; ugly text included.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cppthemes.report import html

# The template's per-passage loop before it moved into report/html.py, verbatim.
LOOP = """{% for p in items %}
<li class="passage" id="p-{{ p.id }}" data-code="{{ p.code }}" data-theme="{{ p.theme }}" data-speaker="{{ p.speaker }}" data-groups='{{ p.groups|tojson }}'>
{% for t in p.context if t.role == 'prompt' %}<p class="asked">Asked: {{ t.text }}</p>{% endfor %}
<p class="text">{{ p.text }}</p>
<footer>{{ p.where }}</footer>
{% set around = p.context|rejectattr('role', 'equalto', 'prompt')|list %}
{% if around %}
<details class="around"><summary>Turns around it</summary><ol>
{% for t in around %}<li><span class="who">{{ 'before' if t.role == 'before' else 'after' }}: {{ t.speaker }}, line {{ t.line }}</span> {{ t.text }}</li>{% endfor %}
</ol></details>
{% endif %}
</li>
{% endfor %}
"""  # noqa: E501

UGLY = st.one_of(
    st.sampled_from(["", 'it\'s <b>3</b> & "so"', "a'b", "</li><script>x</script>", "😀 é ø"]),
    st.text(max_size=30),
)
TURN = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["prompt", "before", "after"]),
        "speaker": UGLY,
        "text": UGLY,
        "line": st.one_of(st.just(""), st.integers(0, 999).map(str)),
    }
)
ITEM = st.fixed_dictionaries(
    {
        "id": UGLY,
        "code": UGLY,
        "theme": UGLY,
        "speaker": UGLY,
        "groups": st.lists(UGLY, max_size=3),
        "text": UGLY,
        "where": UGLY,
        "context": st.lists(TURN, max_size=4),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ITEM, max_size=4))
def test_passage_html_is_the_template_loop(items: list[dict[str, Any]]) -> None:
    env = html._environment()
    expected = env.from_string(LOOP).render(items=items)
    assert html.passages_html({"C01": items}, env)["C01"] == expected
