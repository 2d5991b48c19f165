"""The lab: experiments built on the core (``charlstm/`` above), which never imports them (the entry points do:
``cli``, and the package's names). What a unit tracks (``explain``), how far back a prediction depends on what was
read (``reach``), the cells raced on one text (``race``), the Guess game, Shannon's (``guess``), the training time
machine's kept moments (``time_machine``), one unit clamped and what that changes (``steering``), what a text copies
from its training text (``copying``), what changed between runs (``run_changes``) and a run's report (``report``).

``shannon``, ``moments``, ``memorisation`` and ``runs`` are the old names of ``guess``, ``time_machine``,
``copying`` and ``run_changes``, kept as aliases (each is that very module)."""
