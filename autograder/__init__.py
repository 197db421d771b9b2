"""Grade a whole class of notebook submissions safely, with nbgrader as the engine.

``python -m autograder grade <submissions> [--jobs N] [--timeout S] [--memory SIZE] ...``
(or ``make grade SUBMISSIONS=<dir>``). See docs/grading.md for the instructor workflow.

Modules: :mod:`~autograder.intake` (find submissions), :mod:`~autograder.normalize` (repair
notebooks), :mod:`~autograder.integrity` (AST checks), :mod:`~autograder.sandbox` (kernel
launcher with limits), :mod:`~autograder.nbexec` (nbgrader preprocessors),
:mod:`~autograder.runner` and :mod:`~autograder.worker` (isolated grading jobs),
:mod:`~autograder.gradebook` and :mod:`~autograder.report` (outputs).
"""

__all__ = ["grade_class", "Settings"]


def __getattr__(name):
    if name == "grade_class":
        from .grade import grade_class

        return grade_class
    if name == "Settings":
        from .runner import Settings

        return Settings
    raise AttributeError(name)
