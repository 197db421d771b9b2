"""Course tooling of "Neural Networks from Scratch" (instructors and CI only, never students).

* :mod:`coursekit.settings` reads the course settings (nbgrader_config.py) for the release,
  the autograder and the tests;
* :mod:`coursekit.render` turns an authoring source (``course/NN_topic/*.py``, a jupytext
  percent notebook) into the nbgrader master under ``notebooks/NN_topic/``;
* :mod:`coursekit.hidden` writes and checks the hidden-test blocks of the masters;
* :mod:`coursekit.preamble` holds the helpers every hidden block starts with.

See docs/authoring.md.
"""
