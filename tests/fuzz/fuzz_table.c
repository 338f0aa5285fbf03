/* fuzz_table.c: libFuzzer target for the JSONL and RFC 4180 CSV/TSV readers (sp_table_parse).
 *
 * The first input byte picks the format (mod 3), the rest is the file. The parser must never crash, leak
 * or read out of bounds, and on success every kept cell must be valid UTF-8 without an interior NUL and
 * every record's line number must lie within the file.
 *
 *   CC=clang cmake -S . -B build-fuzz -DSPLINTER_FUZZ=ON -DSPLINTER_NATIVE=OFF -DCMAKE_BUILD_TYPE=Debug
 *   cmake --build build-fuzz --target fuzz_table && build-fuzz/tests/fuzz_table -max_total_time=60 \
 *       build-fuzz/corpus-fuzz_table tests/fuzz/seeds/fuzz_table
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    sp_table_format fmt = (sp_table_format)(data[0] % 3);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n' || text[i] == '\r';
    static const char *const cols[3] = {"text", "label", "domain"};
    sp_table *t = NULL;
    if (sp_table_parse(&t, text, len, fmt, "fuzz", cols, 3) == SP_OK) {
        for (size_t r = 0; r < t->n_rows; r++) {
            if (t->line[r] < 1 || t->line[r] > lines) abort();
            for (size_t c = 0; c < t->n_cols; c++) {
                const char *cell = t->cells[r * t->n_cols + c];
                if (!cell) {
                    if (fmt != SP_TABLE_JSONL) abort(); /* only JSONL records may lack a key */
                    continue;
                }
                size_t n = strlen(cell);
                if (sp_utf8_valid_prefix(cell, n) != n) abort();
            }
        }
    }
    sp_table_free(t);
    return 0;
}
