/* nb_report.c: the narrative of RUN/report/report.md as notebook cells. Each `## ` section starts a markdown
 * cell; each image link to a figure made by analysis/plot.c (a <stem>.dat + <stem>.gp pair) becomes a code cell
 * that redraws it with matplotlib, whose stored output is splinter's own <stem>.png. Other local images are
 * embedded as cell attachments. Figures in report/ that the narrative does not reference follow at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nb_internal.h"

/* State of the markdown cell being collected. */
typedef struct {
    nb_builder *nb;
    const char *report_dir;
    nb_buf text;
    json_t *attachments; /* NULL until the cell embeds an image */
    char **stems;        /* figures available: stems of report/<stem>.dat, sorted */
    size_t n_stems;
    unsigned char *used; /* [n_stems] referenced by the narrative */
} report_state;

/* Ends the current markdown cell (if it has any text) and starts an empty one. */
static void flush_markdown(report_state *r)
{
    if (r->text.oom) r->nb->oom = 1;
    nb_add_markdown(r->nb, nb_buf_str(&r->text), r->attachments);
    r->attachments = NULL;
    r->text.len = 0;
    if (r->text.s) r->text.s[0] = '\0';
}

/* Reads a file if it exists; returns 1 with data, 0 if it does not exist or is unreadable. */
static int read_optional(const char *path, char **data, size_t *n)
{
    if (!nb_is_file(path)) return 0;
    return sp_read_file(path, data, n) == SP_OK;
}

/* Appends the code cell redrawing figure `stem`. Its stored output is splinter's <stem>.png, or the SVG
 * when there is no PNG; none when neither exists (running the cell draws it). */
static sp_status add_redraw_cell(report_state *r, const char *stem, const char *caption)
{
    char png[PATH_MAX], svg[PATH_MAX];
    sp_status st;
    if ((st = nb_path(png, "%s/%s.png", r->report_dir, stem)) != SP_OK ||
        (st = nb_path(svg, "%s/%s.svg", r->report_dir, stem)) != SP_OK)
        return st;
    nb_buf code;
    nb_buf_init(&code);
    if (caption && caption[0]) {
        nb_buf_puts(&code, "# Figure: ");
        for (const char *p = caption; *p; p++) nb_buf_add(&code, (*p == '\n' || *p == '\r') ? " " : p, 1);
        nb_buf_puts(&code, "\n");
    }
    /* File names may hold anything but '/' and NUL: keep the comment on its line. */
    char shown[PATH_MAX];
    snprintf(shown, sizeof shown, "%s", stem);
    for (char *p = shown; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    nb_buf_printf(&code, "# Redrawn with matplotlib from RUN/report/%s.dat and .gp; the stored output is "
                         "splinter's own drawing.\nredraw_figure(", shown);
    nb_buf_py_string(&code, stem);
    nb_buf_puts(&code, ");\n");

    json_t *outputs = json_array();
    char *data = NULL;
    size_t n = 0;
    const char *mime = NULL;
    if (read_optional(png, &data, &n)) mime = "image/png";
    else if (read_optional(svg, &data, &n)) mime = "image/svg+xml";
    if (outputs && mime) {
        char alt[512];
        snprintf(alt, sizeof alt, "<Figure: %s>", caption && caption[0] ? caption : stem);
        if (json_array_append_new(outputs, nb_image_output(mime, (unsigned char *)data, n, alt)) != 0)
            r->nb->oom = 1;
    }
    free(data);
    if (code.oom || !outputs) r->nb->oom = 1;
    nb_add_code(r->nb, nb_buf_str(&code), outputs);
    nb_buf_free(&code);
    r->nb->summary.n_figures++;
    r->nb->summary.n_figures_redraw++;
    return SP_OK;
}

/* Index of stem among the available figures, or -1. */
static long find_stem(const report_state *r, const char *stem)
{
    for (size_t i = 0; i < r->n_stems; i++)
        if (strcmp(r->stems[i], stem) == 0) return (long)i;
    return -1;
}

/* Handles one image link ![caption](target) found in the narrative. */
static sp_status add_image(report_state *r, const char *caption, const char *target, const char *link, size_t link_len)
{
    /* Remote images and paths outside report/ stay links: the notebook cannot know they will resolve. */
    int local = !strstr(target, "://") && strncmp(target, "data:", 5) != 0 && target[0] != '/' &&
                !strstr(target, "..");
    if (!local) {
        nb_buf_add(&r->text, link, link_len);
        return SP_OK;
    }
    if (strncmp(target, "./", 2) == 0) target += 2;
    char stem[PATH_MAX];
    sp_status st = nb_path(stem, "%s", target);
    if (st != SP_OK) return st;
    char *dot = strrchr(stem, '.'), *slash = strrchr(stem, '/');
    const char *ext = dot && (!slash || dot > slash) ? dot + 1 : "";
    if (strcmp(ext, "png") == 0 || strcmp(ext, "svg") == 0 || strcmp(ext, "dat") == 0 || strcmp(ext, "gp") == 0)
        *dot = '\0';

    char dat[PATH_MAX], gp[PATH_MAX], file[PATH_MAX];
    if ((st = nb_path(dat, "%s/%s.dat", r->report_dir, stem)) != SP_OK ||
        (st = nb_path(gp, "%s/%s.gp", r->report_dir, stem)) != SP_OK ||
        (st = nb_path(file, "%s/%s", r->report_dir, target)) != SP_OK)
        return st;
    if (nb_is_file(dat) && nb_is_file(gp)) {
        long k = find_stem(r, stem);
        if (k >= 0) r->used[k] = 1;
        flush_markdown(r);
        return add_redraw_cell(r, stem, caption);
    }
    const char *mime = strcasecmp(ext, "png") == 0 ? "image/png"
                     : strcasecmp(ext, "svg") == 0 ? "image/svg+xml"
                     : strcasecmp(ext, "jpg") == 0 || strcasecmp(ext, "jpeg") == 0 ? "image/jpeg"
                     : strcasecmp(ext, "gif") == 0 ? "image/gif" : NULL;
    char *data = NULL;
    size_t n = 0;
    if (!mime || !read_optional(file, &data, &n)) {
        nb_buf_add(&r->text, link, link_len);
        nb_buf_puts(&r->text, " *(figure file ");
        nb_buf_md_code(&r->text, target);
        nb_buf_puts(&r->text, " not found in report/)*");
        r->nb->summary.n_figures_missing++;
        free(data);
        return SP_OK;
    }
    /* Attachment names are per cell; the path with '/' flattened keeps them unique. */
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%s", target);
    for (char *p = name; *p; p++)
        if (*p == '/' || *p == ' ' || *p == '(' || *p == ')') *p = '_';
    json_t *bundle = nb_image_output(mime, (unsigned char *)data, n, caption);
    free(data);
    json_t *image = bundle ? json_object_get(json_object_get(bundle, "data"), mime) : NULL;
    if (!r->attachments) r->attachments = json_object();
    json_t *entry = image ? json_pack("{s:O}", mime, image) : NULL;
    json_decref(bundle);
    if (!r->attachments || !entry || json_object_set_new(r->attachments, name, entry) != 0) {
        r->nb->oom = 1;
        return SP_OK;
    }
    nb_buf_puts(&r->text, "![");
    nb_buf_puts(&r->text, caption);
    nb_buf_printf(&r->text, "](attachment:%s)", name);
    r->nb->summary.n_figures++;
    return SP_OK;
}

/* Appends one narrative line, turning its image links into figures. */
static sp_status add_line(report_state *r, const char *line, size_t len)
{
    const char *p = line, *end = line + len;
    while (p < end) {
        const char *bang = NULL;
        for (const char *q = p; q + 1 < end; q++)
            if (q[0] == '!' && q[1] == '[') {
                bang = q;
                break;
            }
        const char *close = bang ? memchr(bang, ']', (size_t)(end - bang)) : NULL;
        const char *rparen = close && close + 1 < end && close[1] == '(' ? memchr(close, ')', (size_t)(end - close)) : NULL;
        if (!rparen) {
            nb_buf_add(&r->text, p, (size_t)(end - p));
            return SP_OK;
        }
        nb_buf_add(&r->text, p, (size_t)(bang - p));
        char *caption = strndup(bang + 2, (size_t)(close - bang - 2));
        /* The target ends at the first blank: `![c](x.png "title")` carries an optional title. */
        const char *t = close + 2;
        size_t tlen = strcspn(t, " \t)");
        if (t + tlen > rparen) tlen = (size_t)(rparen - t);
        char *target = strndup(t, tlen);
        sp_status st = caption && target ? add_image(r, caption, target, bang, (size_t)(rparen + 1 - bang))
                                         : sp_fail(SP_ERR_NOMEM, "out of memory reading the report");
        free(caption);
        free(target);
        if (st != SP_OK) return st;
        p = rparen + 1;
        /* Text resuming after a figure cell starts a new cell: no leading blanks. */
        if (r->text.len == 0)
            while (p < end && (*p == ' ' || *p == '\t')) p++;
    }
    return SP_OK;
}

/* Length of a code fence opening the line (``` or ~~~, up to 3 spaces in), or 0. */
static size_t fence_at(const char *line, size_t len, char *fence_char)
{
    size_t i = 0;
    while (i < len && i < 3 && line[i] == ' ') i++;
    if (i >= len || (line[i] != '`' && line[i] != '~')) return 0;
    char c = line[i];
    size_t n = 0;
    while (i + n < len && line[i + n] == c) n++;
    if (n < 3) return 0;
    *fence_char = c;
    return n;
}

/* Splits report.md into cells: a new markdown cell at each `## ` heading outside code fences. */
static sp_status add_narrative(report_state *r, const char *md)
{
    size_t open_len = 0;
    char open_char = 0;
    for (const char *p = md; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        char c;
        size_t f = fence_at(p, len, &c);
        if (open_len) {
            if (f >= open_len && c == open_char) open_len = 0;
            nb_buf_add(&r->text, p, len);
        } else if (f) {
            open_len = f, open_char = c;
            nb_buf_add(&r->text, p, len);
        } else {
            if (strncmp(p, "## ", 3) == 0) flush_markdown(r);
            sp_status st = add_line(r, p, len);
            if (st != SP_OK) return st;
        }
        p += len;
    }
    flush_markdown(r);
    return SP_OK;
}

sp_status nb_add_report(nb_builder *nb)
{
    char dir[PATH_MAX], md_path[PATH_MAX];
    report_state r = {.nb = nb, .report_dir = dir};
    nb_buf_init(&r.text);
    char *md = NULL;
    size_t md_len = 0;
    sp_status st;
    if ((st = nb_path(dir, "%s/report", nb->run_abs)) != SP_OK || (st = nb_path(md_path, "%s/report.md", dir)) != SP_OK ||
        (st = nb_list_dir(dir, ".dat", &r.stems, &r.n_stems)) != SP_OK)
        goto done;
    for (size_t i = 0; i < r.n_stems; i++) r.stems[i][strlen(r.stems[i]) - 4] = '\0';
    if (r.n_stems && !(r.used = calloc(r.n_stems, 1))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", dir);
        goto done;
    }
    if (nb_is_file(md_path)) {
        if ((st = sp_read_file(md_path, &md, &md_len)) != SP_OK) goto done;
        nb->summary.has_report = 1;
        if ((st = add_narrative(&r, md)) != SP_OK) goto done;
    }

    /* Figures the narrative does not show (or every figure, without a narrative). */
    size_t n_rest = 0;
    for (size_t i = 0; i < r.n_stems && st == SP_OK; i++) {
        char gp[PATH_MAX];
        /* Data without its script is not one of splinter's figures. */
        if (!r.used[i] && (st = nb_path(gp, "%s/%s.gp", dir, r.stems[i])) == SP_OK && !nb_is_file(gp)) r.used[i] = 1;
        n_rest += !r.used[i];
    }
    if (st != SP_OK) goto done;
    if (!nb->summary.has_report) {
        nb_buf_puts(&r.text, "## Report\n\nThis run has no `report/report.md`, so the notebook has no narrative");
        nb_buf_puts(&r.text, n_rest ? "; the figures in `report/` follow in name order.\n"
                                    : " and `report/` holds no figures.\n");
    } else if (n_rest) {
        nb_buf_puts(&r.text, "## Other figures\n\nFigures in `report/` that `report.md` does not show.\n");
    }
    flush_markdown(&r);
    for (size_t i = 0; i < r.n_stems && st == SP_OK; i++)
        if (!r.used[i]) st = add_redraw_cell(&r, r.stems[i], NULL);
done:
    if (st == SP_OK && r.text.oom) st = sp_fail(SP_ERR_NOMEM, "out of memory reading the report");
    json_decref(r.attachments);
    nb_buf_free(&r.text);
    sp_strlist_free(r.stems, r.n_stems);
    free(r.used);
    free(md);
    return st;
}
