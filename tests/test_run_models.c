/* test_run_models.c: the one listing of a run's models/ directory: which names are listed (<name>.h5 regular,
 * not hidden; never *.h5.tmp or other names), their order (strcmp, whatever the creation order), how each
 * file is classified, and the errors: not HDF5, too few models (naming partially written files), no models/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run_models.h"
#include "run_test_util.h"
#include "store.h"

#define RUN "run-models-test"
#define MODELS RUN "/models"

/* A complete (committed) store file of the given format at MODELS/<name>. */
static void write_store(const char *name, const char *format)
{
    char path[256];
    snprintf(path, sizeof path, MODELS "/%s", name);
    sp_store_writer *w = NULL;
    assert_int_equal(sp_store_create(path, format, &w), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "name", name), SP_OK);
    assert_int_equal(sp_store_commit(w), SP_OK);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* An HDF5 file without the store's attributes: what a writer leaves when it did not finish. */
static void write_bare_hdf5(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_true(H5Fclose(f) >= 0);
}

/* Lists with min_models and expects SP_ERR_INPUT with a message containing `needle` and no listing. */
static void expect_error(size_t min_models, const char *needle)
{
    sp_run_models *ms = (sp_run_models *)1;
    assert_int_equal(sp_run_models_list(&ms, RUN, min_models), SP_ERR_INPUT);
    print_message("expected error: %s\n", sp_error_message());
    assert_null(ms);
    assert_non_null(strstr(sp_error_message(), needle));
}

static void test_listing_order_and_kinds(void **state)
{
    (void)state;
    test_fresh_run(RUN);
    /* created out of order: the listing must not follow the directory */
    write_store("c-9.h5", "splinter-model");
    write_store("b.h5", "splinter-model");
    write_store("c-10.h5", "splinter-model");
    write_store("a.h5", "splinter-model");
    write_store("pretrain-p0.h5", "splinter-encoder");
    write_store("other.h5", "splinter-dataset");
    write_bare_hdf5(MODELS "/inc.h5");
    /* never listed: a partial write (even a complete file under the .tmp name), hidden files, other names,
     * a directory, a bare ".h5" */
    write_store("done.h5", "splinter-model");
    assert_int_equal(rename(MODELS "/done.h5", MODELS "/done.h5.tmp"), 0);
    write_store(".hidden.h5", "splinter-model");
    write_store("model.hdf5", "splinter-model");
    write_text(MODELS "/notes.txt", "not a model\n");
    write_text(MODELS "/h5", "not a model\n");
    assert_int_equal(mkdir(MODELS "/sub.h5", 0755), 0);

    sp_run_models *ms = NULL;
    assert_int_equal(sp_run_models_list(&ms, RUN, 4), SP_OK);
    assert_string_equal(ms->dir, MODELS);
    static const char *const names[7] = {"a.h5", "b.h5", "c-10.h5", "c-9.h5", "inc.h5", "other.h5", "pretrain-p0.h5"};
    static const sp_run_file_kind kinds[7] = {SP_RUN_FILE_MODEL, SP_RUN_FILE_MODEL, SP_RUN_FILE_MODEL,
                                              SP_RUN_FILE_MODEL, SP_RUN_FILE_INCOMPLETE, SP_RUN_FILE_OTHER,
                                              SP_RUN_FILE_ENCODER};
    static const char *const formats[7] = {"splinter-model", "splinter-model", "splinter-model", "splinter-model",
                                           NULL, "splinter-dataset", "splinter-encoder"};
    assert_int_equal(ms->n_files, 7);
    assert_int_equal(ms->n_models, 4);
    for (size_t k = 0; k < 7; k++) {
        char want[256];
        snprintf(want, sizeof want, MODELS "/%s", names[k]);
        assert_string_equal(ms->files[k].path, want);
        assert_int_equal(ms->files[k].kind, kinds[k]);
        if (formats[k]) assert_string_equal(ms->files[k].format, formats[k]);
        else assert_null(ms->files[k].format);
    }
    sp_run_models_free(ms);

    /* One more than there are complete models: refused, and the partial file is named as the likely cause. */
    expect_error(5, MODELS ": 4 complete model file(s); the analysis needs at least 5");
    expect_error(5, "1 partially written *.h5.tmp file(s)");
}

static void test_a_file_that_is_not_hdf5_is_refused(void **state)
{
    (void)state;
    test_fresh_run(RUN);
    write_store("a.h5", "splinter-model");
    write_store("b.h5", "splinter-model");
    write_text(MODELS "/notes.h5", "not hdf5\n");
    expect_error(0, MODELS "/notes.h5: not an HDF5 file; models/ must hold only model files (move it away)");
    /* The same bytes under a name that is not a model's are no concern of the listing. */
    assert_int_equal(rename(MODELS "/notes.h5", MODELS "/notes.txt"), 0);
    sp_run_models *ms = NULL;
    assert_int_equal(sp_run_models_list(&ms, RUN, 2), SP_OK);
    assert_int_equal(ms->n_files, 2);
    sp_run_models_free(ms);
}

static void test_empty_and_partial_only(void **state)
{
    (void)state;
    test_fresh_run(RUN);
    sp_run_models *ms = NULL;
    assert_int_equal(sp_run_models_list(&ms, RUN, 0), SP_OK); /* a caller that may find nothing */
    assert_int_equal(ms->n_files, 0);
    assert_int_equal(ms->n_models, 0);
    sp_run_models_free(ms);
    expect_error(1, MODELS ": 0 complete model file(s); the analysis needs at least 1 (train more models)");
    assert_null(strstr(sp_error_message(), "partially written"));

    /* Only writes in progress: still no model, and the message says why. */
    write_store("a.h5", "splinter-model");
    write_store("b.h5", "splinter-model");
    assert_int_equal(rename(MODELS "/a.h5", MODELS "/a.h5.tmp"), 0);
    assert_int_equal(rename(MODELS "/b.h5", MODELS "/b.h5.tmp"), 0);
    expect_error(2, "0 complete model file(s)");
    expect_error(2, "2 partially written *.h5.tmp file(s) there: training is still running or was interrupted");

    /* Unfinished and non-model files do not count towards the minimum. */
    write_bare_hdf5(MODELS "/c.h5");
    write_store("pretrain-p1.h5", "splinter-encoder");
    expect_error(1, "0 complete model file(s)");
}

static void test_not_a_run_directory(void **state)
{
    (void)state;
    assert_int_equal(system("rm -rf " RUN " && mkdir " RUN), 0);
    expect_error(0, MODELS ": cannot open the models directory; is " RUN " a run directory?");
    write_text(MODELS, "a file where the directory should be\n");
    expect_error(0, "cannot open the models directory");
    sp_run_models_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listing_order_and_kinds),
        cmocka_unit_test(test_a_file_that_is_not_hdf5_is_refused),
        cmocka_unit_test(test_empty_and_partial_only),
        cmocka_unit_test(test_not_a_run_directory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc == 0) (void)system("rm -rf " RUN);
    return rc;
}
