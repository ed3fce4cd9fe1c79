"""The real slide decks of the realism bench and their fixed dev / held-out split.

Every deck is a PDF shipped by a Debian package (nothing here was drawn by this project). A deck
belongs to a source (the package or theme family it comes from); the split assigns whole
sources, so no held-out video shows a page, a template or a theme that a dev video shows. The
split was written down before any video of these decks was rendered or extracted (see
bench/real/README.md for the rule) and must not change afterwards: add new decks, never move one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEXDOC = Path("/usr/share/doc/texlive-doc")


@dataclass(frozen=True)
class Deck:
    """One PDF deck. `pages` is the 1-based inclusive page range the videos draw from."""

    name: str
    source: str          # package / theme family; the unit of the split
    package: str         # the Debian package that ships the file
    path: str            # relative to TEXDOC
    language: str        # ISO 639-1 code of the slide text (espeak-ng voice)
    pages: tuple[int, int]
    split: str           # "dev" or "heldout"
    notes: str = ""

    @property
    def file(self) -> Path:
        return TEXDOC / self.path


REC, EXTRA, PICS = "texlive-latex-recommended-doc", "texlive-latex-extra-doc", "texlive-pictures-doc"
PUB = "texlive-publishers-doc"

DECKS = [
    # --- dev: sources beamer, beamer2thesis, metropolis, bfh-ci, focus, trigon, pgf ---
    Deck("beamer-talk", "beamer", REC, "latex/beamer/beamerexample-conference-talk.pdf", "en", (1, 31), "dev",
         "4:3, navigation bar with section dots, overlays (pause/uncover), formulas"),
    Deck("beamer-logik", "beamer", REC, "latex/beamer/beamerexample-lecture-beamer-version.pdf", "de", (1, 33), "dev",
         "4:3 German lecture, right sidebar navigation with logo, code slides, one template throughout"),
    Deck("beamer-guide-a4", "beamer", REC, "latex/beamer/beameruserguide.pdf", "en", (20, 40), "dev",
         "A4 portrait document pages: text, code listings"),
    Deck("b2t-ita", "beamer2thesis", EXTRA, "latex/beamer2thesis/beamer2thesis_ita.pdf", "it", (1, 43), "dev",
         "4:3 Italian thesis talk, sidebar logo bar, overlays"),
    Deck("metropolis", "metropolis", EXTRA, "latex/beamertheme-metropolis/demo.pdf", "en", (1, 33), "dev",
         "4:3, dark title/standout frames between light ones, plots, progress bar"),
    Deck("bfh-sidebar", "bfh-ci", EXTRA, "latex/bfh-ci/DEMO-BFHBeamer-Sidebar.pdf", "de", (1, 16), "dev",
         "16:9, left sidebar navigation, images"),
    Deck("focus", "focus", EXTRA, "latex/beamertheme-focus/focus-demo.pdf", "en", (1, 18), "dev",
         "4:3, dark section frames, solid header band"),
    Deck("trigon", "trigon", EXTRA, "latex/beamertheme-trigon/trigon_demo.pdf", "en", (1, 20), "dev",
         "16:9, large triangles on title pages, plots"),
    Deck("pgf-a4", "pgf", PICS, "generic/pgf/pgfmanual.pdf", "en", (30, 50), "dev",
         "A4 portrait document pages: TikZ tutorial, code and pictures"),
    # added in the second commit (overlays that add and remove content were scarce in dev)
    Deck("amurmaple", "amurmaple", EXTRA, "latex/beamerthemeamurmaple/beamer-amurmaple-sidebar.pdf", "en", (1, 24),
         "dev", "4:3, sidebar table of contents, overlays adding and removing content"),
    Deck("verona", "verona", EXTRA, "latex/beamer-verona/beamer-verona-sidebar.pdf", "en", (1, 11), "heldout",
         "4:3, sidebar, overlays adding and removing content"),
    # --- held-out: sources tuda-ci, abntex2, lalic, shipunov, simpledarkblue, overlays, hitsz, epyt, urcls ---
    Deck("tuda", "tuda-ci", PUB, "latex/tuda-ci/DEMO-TUDaBeamer.pdf", "de", (1, 11), "heldout",
         "16:9 German corporate design, header band with logo"),
    Deck("tuda-phd-a4", "tuda-ci", PUB, "latex/tuda-ci/DEMO-TUDaPhD.pdf", "de", (1, 25), "heldout",
         "A4 portrait German document pages"),
    Deck("abntex2", "abntex2", PUB, "latex/abntex2/examples/abntex2-modelo-slides.pdf", "pt", (1, 13), "heldout",
         "16:9 Portuguese, overlays"),
    Deck("lalic", "lalic", EXTRA, "latex/beamerthemelalic/beamerthemelalic-exemplo.pdf", "pt", (1, 14), "heldout",
         "4:3 Portuguese, navigation header, blocks, figures"),
    Deck("biogeo", "shipunov", EXTRA, "latex/shipunov/lecture-slides-ex.pdf", "en", (1, 43), "heldout",
         "4:3 biology lecture"),
    Deck("darkblue", "simpledarkblue", EXTRA, "latex/beamertheme-simpledarkblue/beamertheme-simpledarkblue-sample.pdf",
         "en", (1, 11), "heldout", "16:9 dark blue header"),
    Deck("overlays", "overlays", EXTRA, "latex/overlays/sample.pdf", "en", (1, 34), "heldout",
         "4:3, incremental slides made with the overlays package (content appears and disappears)"),
    Deck("hitsz", "hitszbeamer", EXTRA, "latex/hitszbeamer/main.pdf", "zh", (1, 16), "heldout",
         "4:3 Chinese report talk"),
    Deck("epyt", "epyt", EXTRA, "latex/beamertheme-epyt/epyt-demo.pdf", "en", (1, 35), "heldout",
         "4:3, dark and light variants"),
    Deck("urbeamer", "urcls", PUB, "latex/urcls/URbeamer-DEMO.pdf", "de", (1, 14), "heldout",
         "16:9 German university design"),
]

BY_NAME = {deck.name: deck for deck in DECKS}


def missing_files() -> list[str]:
    """Deck files not on this machine, with the package that ships each."""
    return [f"{deck.file} (apt-get install {deck.package})" for deck in DECKS if not deck.file.exists()]
