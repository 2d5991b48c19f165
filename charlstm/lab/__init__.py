"""The lab: experiments built on the core (``charlstm/`` above), which never imports them (the entry points do:
``cli``, and the package's names). What a unit tracks (``explain``), how far back a prediction depends on what was
read (``reach``), the cells raced on one text (``race``), Shannon's guessing game (``shannon``), a run's kept
moments (``moments``), one unit clamped and what that changes (``steering``), what a text copies from its training
text (``memorisation``), runs compared (``runs``) and a run's report (``report``)."""
