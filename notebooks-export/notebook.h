/* notebook.h: turn a splinter run directory into a Jupyter notebook (nbformat 4.5 JSON) to continue in Jupyter.
 *
 * The notebook holds: a title cell (run name, program version, data hash, seeds, configuration); the narrative
 * of RUN/report/report.md split into cells by `## ` section, each figure as a code cell that redraws it with
 * matplotlib from its gnuplot data (the stored output is the PNG splinter made); a Data section that loads
 * every analysis/<table>.csv with pandas and every model's predictions with h5py. Layout in docs/notebook.md.
 * The output is a pure function of the run directory's contents and absolute path: re-export is byte-identical.
 *
 *     sp_notebook_summary sum;
 *     if (sp_notebook_export("runs/spam-demo", "spam-demo.ipynb", &sum) != SP_OK)
 *         fprintf(stderr, "%s\n", sp_error_message());
 */
#ifndef SPLINTER_NOTEBOOK_H
#define SPLINTER_NOTEBOOK_H

#include <stddef.h>

#include "status.h"

/* What went into a notebook, for the command's one-line summary. */
typedef struct {
    size_t n_cells;
    int has_report;          /* RUN/report/report.md was found (else no narrative, figures listed alone) */
    size_t n_figures;        /* figures embedded (redrawn or attached) */
    size_t n_figures_redraw; /* of those, figures with a matplotlib redraw cell (.dat + .gp present) */
    size_t n_figures_missing;/* image links in report.md whose file was not found */
    size_t n_tables;         /* analysis/<table>.csv files */
    size_t n_models;         /* complete models/<name>.h5 files of format splinter-model */
} sp_notebook_summary;

/* Writes the notebook of run directory `run_dir` to `out_path` (through `out_path`.tmp, renamed when
 * complete; nothing is left behind on failure). SP_ERR_USAGE if run_dir is not a directory; SP_ERR_INPUT if
 * it holds nothing of a run (no dataset.h5, models/, analysis/ or report/) or a file in it is unreadable;
 * SP_ERR_IO if out_path cannot be written. `summary` may be NULL. */
sp_status sp_notebook_export(const char *run_dir, const char *out_path, sp_notebook_summary *summary);

/* Builds the notebook as JSON text (what sp_notebook_export writes, with a final newline) into a
 * malloc'ed string owned by the caller. */
sp_status sp_notebook_render(const char *run_dir, char **json_text, sp_notebook_summary *summary);

#endif
