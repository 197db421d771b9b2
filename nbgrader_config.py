"""nbgrader configuration of the course "Neural Networks from Scratch".

Read by every `nbgrader` command run from the repository root (and copied into the temporary
course directories that the tests build). See docs/authoring.md.
"""

c = get_config()  # noqa: F821 (provided by nbgrader's config loader)

# The assignments, in teaching order. nbgrader 0.9 has no config option that lists them (it
# registers an assignment in its gradebook when it is first generated); this list is the course's
# own declaration, read by coursekit.settings (never by executing this file) for `make release`,
# the autograder and the tests: each uses only these, in this order, and rejects a folder in
# notebooks/ or course/ that is not declared here. Assignments that do not exist yet are skipped.
ASSIGNMENTS = [
    "01_neuron",
    "02_backprop",
    "03_optimizers",
    "04_regularization",
    "05_batchnorm",
    "06_capstone",
]

# The authoring sources: course/<assignment>/<notebook>.py, jupytext percent notebooks that
# `make release` renders into the masters (notebooks/<assignment>/<notebook>.ipynb). They must not
# sit in notebooks/: nbgrader copies every file there into the release. See docs/authoring.md.
AUTHORING_DIRECTORY = "course"

c.CourseDirectory.course_id = "scratchnn"
c.CourseDirectory.source_directory = "notebooks"   # the masters: solutions + hidden tests
c.CourseDirectory.release_directory = "release"    # what students get (committed)

# What replaces every `### BEGIN SOLUTION ... ### END SOLUTION` region in the release.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell execution limit (seconds) for validate and autograde. Every master runs whole in
# under 60 s; a single cell that needs more than this is an infinite loop or a runaway student
# solution, and is reported as a timeout error in that cell instead of hanging the grader.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# A submission whose graded cells were deleted still gets graded (the missing cells are put
# back from the gradebook and score 0) instead of stopping for manual grading.
c.OverwriteCells.add_missing_cells = True

# Feedback reports show the student's notebook with the scores. By default nbgrader shows the
# test cells as graded, hidden tests included, which would publish them to every student (and
# every later cohort). Strip the hidden blocks from the report; a failing hidden test still
# shows its error message (and, in the traceback, the line that failed).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
