"""The app's path and tabs: the first screen (``quickstart``, ``writes``), one module per tab (``learn_tab``,
``corpus_tab``, ``train_tab``, ``generate_tab``, ``guess_tab``, ``inside_tab``), the parts they hold (``cells_view``,
``clamp_view``, ``time_machine``, ``runs_view``, ``train_view``, ``report``, ``uploads``, ``knobs``) and the links
that open the page in a given state (``share``, ``links``). Each builds its widgets and wires their events."""
