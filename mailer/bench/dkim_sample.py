"""The sample mail of `python -m mailer.bench.dkim_cost`: an announcement built the way the engine builds it.

The HTML and text are QuotedPrintableTemplates (as CompiledMailing.personalise_encoded fills
them), and each message gets its own fill, so the per-recipient parts are new objects, as in
the engine, while the static parts are the same objects in every message.
"""
from __future__ import annotations

import re

from mailer.mail.mime import BuiltMessage, MessageBuilder, QuotedPrintableTemplate

# Shaped like the engine's announcement mail (templates/email/mailing.html, CSS inlined): a
# frame with a style block and nested, indented tables (runs of spaces, which relaxed body
# canonicalisation must squeeze) around unindented Markdown output, a text part, and the
# per-recipient values where the engine puts them: the greeting, the footer's note and links.
_FRAME_HEAD = """<!DOCTYPE html><html lang="da"><head>
<meta charset="utf-8">
<title>Efterårets program</title>
<style>
  body { margin: 0; padding: 0; width: 100%; background: #f4f4f1; font-family: Georgia, serif; }
  table { border-collapse: collapse; }
  .card { background: #ffffff; padding: 32px; }
  .content h2 { font-size: 21px; line-height: 1.3; margin: 24px 0 12px; }
  .content p, .content li { font-size: 16px; line-height: 1.55; }
  .topbar { padding: 12px 24px; font-family: Arial, sans-serif; font-size: 12px; color: #555555; }
  .topbar a { color: #555555; }
  .content h1 { font-size: 26px; line-height: 1.3; margin: 0 0 16px; }
  .content a { color: #1d4f91; }
  .content img { display: block; }
  .footer { padding: 16px 24px 32px; font-family: Arial, sans-serif; font-size: 13px; color: #555555; }
  .footer a { color: #1d4f91; }
  @media (max-width: 620px) {
    .card { padding: 20px !important; }
  }
</style>
</head>
<body style="margin: 0;padding: 0;width: 100%;background: #f4f4f1;">
<table class="outer" role="presentation" border="0" width="100%" cellpadding="0" cellspacing="0">
  <tbody><tr>
    <td align="center">
      <table class="container" role="presentation" border="0" width="600" cellpadding="0" cellspacing="0">
        
        

        <tbody><tr>
          <td class="card content" style="background: #ffffff;padding: 32px;">
            
            <p style="font-size: 16px;line-height: 1.55;">{greeting}</p>
"""
_FRAME_FOOT = """
            

          </td>
        </tr>
        <tr>
          <td class="footer" style="padding: 16px 24px 32px;font-size: 13px;color: #555555;">
            <p>Kunst &amp; Kultur i Balance</p>
            
            
            <p>{frequency_note}</p>
            <p><a href="{unsubscribe_url}">Afmeld</a> · <a href="{manage_url}">Skift mine valg</a></p>
            

          </td>
        </tr>
      </tbody></table>
    </td>
  </tr>
</tbody></table>
</body></html>
"""
_P = '<p style="font-size: 16px;line-height: 1.55;">'
_SECTION = (_P + "En workshop i Aarhus for ledere, kuratorer, producenter og frivillige, der vil arbejde konkret\n"
            "med <em>normer og privilegier</em>. Vi veksler mellem korte oplæg, øvelser i små grupper og fælles\n"
            "opsamling. Ingen forudsætninger kræves; alle er velkomne.</p>\n<ul>\n"
            "<li><strong>Dato:</strong> 13. oktober, kl. 13.00–16.30</li>\n"
            "<li><strong>Sted:</strong> Musikhuset Aarhus, Thomas Jensens Allé 2, 8000 Aarhus C</li>\n</ul>\n"
            + _P + 'Læs mere og <a href="https://news.example.org/arrangementer/workshop?utm_source=nyhedsbrev" '
            'style="color: #1d4f91;">tilmeld dig her</a>.</p>\n')
_TEXT = ("En workshop i Aarhus for ledere, kuratorer, producenter og frivillige, der vil arbejde konkret\n"
         "med normer og privilegier. Ingen forudsætninger kræves; alle er velkomne.\n\n"
         "- Dato: 13. oktober, kl. 13.00–16.30\n- Sted: Musikhuset Aarhus\n"
         "Tilmeld dig: https://news.example.org/arrangementer/workshop?utm_source=nyhedsbrev\n\n")


_TEXT_HEAD = "{greeting}\n\n"
_TEXT_FOOT = ("Kunst & Kultur i Balance\n\n{frequency_note}\nAfmeld: {unsubscribe_url}\n"
              "Skift mine valg: {manage_url}\n")
_NOTE = "Du får denne mail, fordi du har tilmeldt dig vores nyhedsbrev."
_NAMES = ("Søren Ærø", "Åse", "Mette Kirstine Hansen", "")
_FIELD = re.compile(r"\{(greeting|frequency_note|unsubscribe_url|manage_url)\}")  # CSS braces hold no field name


class SampleMailing:
    """One announcement in templates, of whole sections up to target_bytes; build(n) makes recipient n's message."""

    def __init__(self, target_bytes: int = 15_000) -> None:
        self.builder = MessageBuilder(
            sender='"Kunst & Kultur i Balance" <news@example.org>', message_id_domain="example.org",
            static_headers={"List-Id": '"Kunst & Kultur i Balance" <newsletter.example.org>'})
        sections = 1
        while True:
            self.html = QuotedPrintableTemplate(_FIELD.split(_FRAME_HEAD + _SECTION * sections + _FRAME_FOOT))
            self.text = QuotedPrintableTemplate(_FIELD.split(_TEXT_HEAD + _TEXT * sections + _TEXT_FOOT))
            if len(self.build(0).data) >= target_bytes:
                break
            sections += 1

    def build(self, number: int) -> BuiltMessage:
        """Recipient number's message: their own greeting and links, filled and encoded afresh."""
        token = f"WyJi{number:012x}Il0.igpi4CQ_hJEEhBla8"
        name = _NAMES[number % len(_NAMES)]
        values = {"greeting": f"Hej {name}" if name else "Hej", "frequency_note": _NOTE,
                  "unsubscribe_url": f"https://news.example.org/unsubscribe/{token}",
                  "manage_url": f"https://news.example.org/manage/{token}"}
        headers = {"List-Unsubscribe": f"<https://news.example.org/one-click/{token}>, "
                                       f"<mailto:unsubscribe@example.org?subject=unsubscribe%20{token}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        return self.builder.build(to=f"{name or 'Læser'} <reader{number}@example.dk>",
                                  subject="Efterårets program: workshops og debat",
                                  text=self.text.fill(values), html=self.html.fill(values), headers=headers)


def sample_message(target_bytes: int = 15_000) -> bytes:
    """Return the first recipient's message of the smallest SampleMailing that reaches target_bytes."""
    return SampleMailing(target_bytes).build(0).data
