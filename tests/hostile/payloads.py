"""The attack strings the hostile documents are made of. Every script payload sets the canary
`window.__pwned` (or opens a dialog): a browser that runs any of them is caught by
test_hostile.py, which asserts the canary stays undefined and no dialog opens."""

from __future__ import annotations

CANARY = "window.__pwned=1"

# Markup that runs a script where it is rendered as HTML.
XSS = [
    f"<script>{CANARY}</script>",
    f'<script src="data:text/javascript,{CANARY}"></script>',
    f'<img src="x" onerror="{CANARY}">',
    f"<img src=x onerror={CANARY}>",
    f'<svg onload="{CANARY}"><circle r="1"/></svg>',
    f'<body onload="{CANARY}">',
    f'<details open ontoggle="{CANARY}"><summary>x</summary></details>',
    f'<input autofocus onfocus="{CANARY}">',
    f'<iframe src="javascript:{CANARY}"></iframe>',
    f'<iframe srcdoc="&lt;script&gt;parent.{CANARY}&lt;/script&gt;"></iframe>',
    f'<object data="javascript:{CANARY}"></object>',
    f'<embed src="javascript:{CANARY}">',
    f'<a href="javascript:{CANARY}">lien javascript</a>',
    f'<a href="jav&#x09;ascript:{CANARY}">lien javascript échappé</a>',
    f'<a href=" JaVaScRiPt:{CANARY}">lien javascript en majuscules</a>',
    '<a href="vbscript:msgbox(1)">lien vbscript</a>',
    f'<a href="data:text/html,&lt;script&gt;{CANARY}&lt;/script&gt;">lien data</a>',
    f'<form action="javascript:{CANARY}"><button>envoyer</button></form>',
    f'<button formaction="javascript:{CANARY}">bouton</button>',
    f'<math href="javascript:{CANARY}">maths</math>',
    f'<video poster="javascript:{CANARY}"></video>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{CANARY}">',
    f'<base href="javascript:{CANARY}//">',
    '<style>@import "javascript:alert(1)"; body { background: url("javascript:alert(1)") }</style>',
    f'<div style="background-image: url(javascript:{CANARY})">fond</div>',
    f'<p title="&quot; onmouseover=&quot;{CANARY}">attribut fermé</p>',
    f'<img src="x" srcset="javascript:{CANARY} 1x, '
    'data:image/svg+xml,&lt;svg onload=alert(1)&gt; 2x">',
    f'<img data-src="javascript:{CANARY}" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
    "<template><img src=x onerror=alert(1)></template>",
]

# Mutation XSS: markup that a sanitiser parses one way and a browser, after a serialisation and
# a second parse, another (namespaces, raw-text elements, comments, form nesting).
MXSS = [
    f"<svg><style><img src=x onerror={CANARY}></style></svg>",
    f'<noscript><p title="</noscript><img src=x onerror={CANARY}>"></p></noscript>',
    f"<math><mtext><table><mglyph><style><img src=x onerror={CANARY}></style></mglyph>"
    "</table></mtext></math>",
    f"<form><math><mtext></form><form><mglyph><style></math><img src=x onerror={CANARY}>",
    f'<svg></p><style><a id="</style><img src=1 onerror={CANARY}>">',
    f"<math><mi><table><caption><svg><title><textarea></title><img src=x onerror={CANARY}>"
    "</textarea></svg></caption></table></mi></math>",
    f"<!--><img src=x onerror={CANARY}>-->",
    f"<!-- --!><img src=x onerror={CANARY}> -->",
    f"<xmp><img src=x onerror={CANARY}></xmp>",
    f"<noembed><img src=x onerror={CANARY}></noembed>",
    f"<noframes><img src=x onerror={CANARY}></noframes>",
    f"<iframe><img src=x onerror={CANARY}></iframe>",
    f"<textarea><img src=x onerror={CANARY}></textarea>",
    f"<title><img src=x onerror={CANARY}></title>",
    f"<svg><![CDATA[><img src=x onerror={CANARY}>]]></svg>",
    f'<a href="&#106;avascript:{CANARY}">entités</a>',
    f"<table><td><select><option><img src=x onerror={CANARY}></option></select></td></table>",
]

# Text that must stay text: decoded once where it was read, escaped once per output. Shown
# as written, never as markup.
DOUBLE_ESCAPED = "A &amp;amp; B &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;"
DOUBLE_ESCAPED_TEXT = "A &amp; B &lt;script&gt;alert(1)&lt;/script&gt;"  # once decoded
ESCAPED_MARKUP = f"&lt;img src=x onerror={CANARY}&gt; &lt;/title&gt;&lt;script&gt;alert(1)"
ESCAPED_MARKUP_TEXT = f"<img src=x onerror={CANARY}> </title><script>alert(1)"

# Links of another scheme than http(s), as hostile pages write them.
SCHEME_URLS = [
    f"javascript:{CANARY}", f" JAVASCRIPT:{CANARY}", f"java\tscript:{CANARY}",
    f"javascript&colon;{CANARY}", "vbscript:msgbox(1)",
    f"data:text/html,<script>{CANARY}</script>", "data:image/svg+xml;base64,PHN2Zy8+",
    "file:///etc/passwd", "ftp://example.org/x", "jar:http://example.org/x.jar!/",
]
