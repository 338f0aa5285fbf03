/* mime.c: walk of an RFC 822 / MIME message that collects its readable text (see mime.h for the rules).
 *
 * The walk works on slices of the raw message; bytes are copied only when they are decoded (transfer
 * encoding, charset) and once more into the output.
 */
#include "mime.h"

#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "mime_decode.h"
#include "textbuf.h"
#include "utf8.h"

#define MIME_MAX_DEPTH 32

/* ---- render state ---- */

/* What the walk carries besides the output. */
typedef struct {
    sp_charset_stats *stats; /* charset fallbacks and replacements (may be NULL) */
    /* The charset unlabelled 8-bit text most likely uses: the first label in the message that iconv decodes
     * and that can describe 8-bit text (a Content-Type parameter or an HTML <meta> declaration anywhere,
     * else an encoded word of the top header), or "". Applied to raw header bytes and to parts without a
     * charset parameter, and only when their text is not valid UTF-8: mailers that write raw 8-bit headers
     * or drop a part's parameter write them in the charset they declare elsewhere. */
    char hint[32];
} render_ctx;

/* ---- small lexical helpers ---- */

static int is_wsp(char c) { return c == ' ' || c == '\t'; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int eq_ci(const char *a, size_t n, const char *lower)
{
    size_t m = strlen(lower);
    if (n != m) return 0;
    for (size_t k = 0; k < n; k++)
        if (to_lower(a[k]) != lower[k]) return 0;
    return 1;
}

/* End of the line starting at pos: index of its '\n', or len. */
static size_t line_end(const char *s, size_t pos, size_t len)
{
    const char *nl = memchr(s + pos, '\n', len - pos);
    return nl ? (size_t)(nl - s) : len;
}

/* ---- header block ---- */

/* Does the line s[pos..e) start a header field ("Name:" with a printable ASCII name)? */
static int is_field_line(const char *s, size_t pos, size_t e)
{
    size_t k = pos;
    while (k < e && (unsigned char)s[k] > 32 && (unsigned char)s[k] < 127 && s[k] != ':') k++;
    if (k == pos) return 0;
    while (k < e && is_wsp(s[k])) k++;
    return k < e && s[k] == ':';
}

/* Finds the header block of the entity s[0..len): the fields are s[0..*hlen) and the body starts at
 * *body. Headers end at an empty (or blank) line, which is consumed, or at the first line that is neither
 * a field nor a continuation, which then starts the body (broken parts often have no blank line). */
static void headers_scan(const char *s, size_t len, size_t *hlen, size_t *body)
{
    size_t pos = 0;
    while (pos < len) {
        size_t e = line_end(s, pos, len);
        size_t next = e < len ? e + 1 : len;
        size_t k = pos;
        while (k < e && (is_wsp(s[k]) || s[k] == '\r')) k++;
        if (k == e) { /* empty or blank line */
            *hlen = pos;
            *body = next;
            return;
        }
        if (is_wsp(s[pos]) ? pos == 0 : !is_field_line(s, pos, e)) {
            *hlen = pos;
            *body = pos;
            return;
        }
        pos = next;
    }
    *hlen = len;
    *body = len;
}

typedef struct {
    const char *name;
    size_t name_len;
    const char *value; /* raw, still folded */
    size_t value_len;
} mime_field;

/* Next field of the header block s[0..hlen) at *pos; returns 0 when there are no more. */
static int field_next(const char *s, size_t hlen, size_t *pos, mime_field *f)
{
    while (*pos < hlen) {
        size_t p = *pos;
        size_t e = line_end(s, p, hlen);
        if (is_wsp(s[p])) { /* stray continuation line */
            *pos = e < hlen ? e + 1 : hlen;
            continue;
        }
        size_t colon = p;
        while (s[colon] != ':') colon++; /* headers_scan admitted only field lines */
        size_t n = colon;
        while (n > p && is_wsp(s[n - 1])) n--;
        f->name = s + p;
        f->name_len = n - p;
        size_t v = colon + 1;
        while (v < e && is_wsp(s[v])) v++;
        /* The field extends over the continuation lines that follow. */
        size_t end = e;
        while (end < hlen && end + 1 < hlen && is_wsp(s[end + 1])) end = line_end(s, end + 1, hlen);
        size_t vend = end;
        while (vend > v && is_space(s[vend - 1])) vend--;
        f->value = s + v;
        f->value_len = vend - v;
        *pos = end < hlen ? end + 1 : hlen;
        return 1;
    }
    return 0;
}

/* Value of the first field called `lower` (lower-case) in s[0..hlen), or NULL. */
static const char *field_find(const char *s, size_t hlen, const char *lower, size_t *vlen)
{
    size_t pos = 0;
    mime_field f;
    while (field_next(s, hlen, &pos, &f))
        if (eq_ci(f.name, f.name_len, lower)) {
            *vlen = f.value_len;
            return f.value;
        }
    return NULL;
}

/* Appends a header value decoded (RFC 2047) with every whitespace run (folding and U+00A0 included)
 * collapsed to one space, trimmed, and control characters dropped. */
static void header_value_append(sp_textbuf *out, const char *v, size_t n, render_ctx *ctx)
{
    sp_textbuf tmp;
    sp_textbuf_init(&tmp);
    sp_header_decode_append(&tmp, v, n, ctx->hint[0] ? ctx->hint : NULL, ctx->stats);
    if (tmp.failed) out->failed = 1;
    int space = 0;
    size_t start = out->len;
    for (size_t k = 0; k < tmp.len; k++) {
        unsigned char c = (unsigned char)tmp.data[k];
        if (is_space((char)c) || c == '\f' || c == '\v') {
            space = 1;
            continue;
        }
        if (c == 0xC2 && k + 1 < tmp.len && (unsigned char)tmp.data[k + 1] == 0xA0) { /* U+00A0 */
            space = 1;
            k++;
            continue;
        }
        if (c < 0x20 || c == 0x7F) continue;
        if (space && out->len > start) sp_textbuf_putc(out, ' ');
        space = 0;
        sp_textbuf_putc(out, (char)c);
    }
    sp_textbuf_free(&tmp);
}

/* ---- Content-Type ---- */

typedef struct {
    char type[32];     /* lower case, "" if the field is absent */
    char subtype[64];  /* lower case */
    char boundary[256];
    char charset[64];
    int has_boundary;
} content_type;

/* Copies a parameter value at v[0..n) (quoted string or token) into dst (truncated to cap-1 bytes);
 * returns the number of bytes of v consumed. */
static size_t param_value(const char *v, size_t n, char *dst, size_t cap)
{
    size_t k = 0, d = 0;
    if (n > 0 && v[0] == '"') {
        k = 1;
        while (k < n && v[k] != '"') {
            if (v[k] == '\\' && k + 1 < n) k++;
            if (v[k] != '\r' && v[k] != '\n' && d + 1 < cap) dst[d++] = v[k];
            k++;
        }
        if (k < n) k++;
    } else {
        while (k < n && v[k] != ';' && !is_space(v[k])) {
            if (d + 1 < cap) dst[d++] = v[k];
            k++;
        }
    }
    dst[d] = '\0';
    return k;
}

/* Parses "type/subtype; name=value; ..." tolerantly: missing ';' between parameters, blanks around '=',
 * quoted or bare values. */
static void content_type_parse(content_type *ct, const char *v, size_t n)
{
    memset(ct, 0, sizeof *ct);
    size_t k = 0;
    while (k < n && is_space(v[k])) k++;
    size_t d = 0;
    while (k < n && v[k] != '/' && v[k] != ';' && !is_space(v[k])) {
        if (d + 1 < sizeof ct->type) ct->type[d++] = to_lower(v[k]);
        k++;
    }
    ct->type[d] = '\0';
    if (k < n && v[k] == '/') {
        k++;
        d = 0;
        while (k < n && v[k] != ';' && !is_space(v[k])) {
            if (d + 1 < sizeof ct->subtype) ct->subtype[d++] = to_lower(v[k]);
            k++;
        }
        ct->subtype[d] = '\0';
    }
    while (k < n) {
        while (k < n && (is_space(v[k]) || v[k] == ';')) k++;
        size_t name = k;
        while (k < n && v[k] != '=' && v[k] != ';' && !is_space(v[k])) k++;
        size_t name_len = k - name;
        while (k < n && is_space(v[k])) k++;
        if (k >= n || v[k] != '=') continue;
        k++;
        while (k < n && is_space(v[k])) k++;
        char scratch[8];
        if (eq_ci(v + name, name_len, "boundary")) {
            k += param_value(v + k, n - k, ct->boundary, sizeof ct->boundary);
            ct->has_boundary = ct->boundary[0] != '\0';
        } else if (eq_ci(v + name, name_len, "charset")) {
            k += param_value(v + k, n - k, ct->charset, sizeof ct->charset);
        } else {
            k += param_value(v + k, n - k, scratch, sizeof scratch);
        }
    }
}

/* ---- the walk ---- */

typedef enum { KIND_SKIP, KIND_PLAIN, KIND_HTML, KIND_MULTIPART, KIND_MESSAGE } part_kind;

static part_kind kind_of(const content_type *ct)
{
    if (strcmp(ct->type, "multipart") == 0) return KIND_MULTIPART;
    if (strcmp(ct->type, "message") == 0)
        return (strcmp(ct->subtype, "rfc822") == 0 || strcmp(ct->subtype, "news") == 0) ? KIND_MESSAGE : KIND_SKIP;
    if (strcmp(ct->type, "text") == 0) {
        if (strcmp(ct->subtype, "html") == 0 || strcmp(ct->subtype, "enriched") == 0 ||
            strcmp(ct->subtype, "richtext") == 0 || strcmp(ct->subtype, "xhtml") == 0)
            return KIND_HTML;
        return KIND_PLAIN;
    }
    return KIND_SKIP;
}

/* Iterator over the parts of a multipart body, split at "--boundary" delimiter lines (which may carry
 * trailing blanks). The preamble and the epilogue after "--boundary--" are skipped; without a closing
 * delimiter the last part runs to the end of the body. */
typedef struct {
    const char *body;
    size_t n;
    const char *boundary;
    size_t boundary_len;
    size_t pos;        /* next line to examine */
    size_t part_start; /* start of the current part, when in_part */
    int in_part;
    int done;
    size_t delimiters; /* delimiter lines seen so far */
} multipart_iter;

static void multipart_iter_init(multipart_iter *it, const char *body, size_t n, const char *boundary)
{
    memset(it, 0, sizeof *it);
    it->body = body;
    it->n = n;
    it->boundary = boundary;
    it->boundary_len = strlen(boundary);
}

/* Stores the next part in *part, *part_len and returns 1, or returns 0 after the last part. */
static int multipart_next(multipart_iter *it, const char **part, size_t *part_len)
{
    const char *body = it->body;
    size_t n = it->n, bl = it->boundary_len;
    while (!it->done && it->pos < n) {
        size_t pos = it->pos;
        size_t e = line_end(body, pos, n);
        size_t next = e < n ? e + 1 : n;
        it->pos = next;
        if (e - pos < 2 + bl || body[pos] != '-' || body[pos + 1] != '-' ||
            memcmp(body + pos + 2, it->boundary, bl) != 0)
            continue;
        size_t k = pos + 2 + bl;
        int close = k + 1 < e && body[k] == '-' && body[k + 1] == '-';
        if (close) k += 2;
        while (k < e && is_space(body[k])) k++;
        if (k != e) continue; /* "--boundaryX": a longer boundary, or text */
        it->delimiters++;
        int had_part = it->in_part;
        size_t start = it->part_start;
        it->in_part = !close;
        it->part_start = next;
        if (close) it->done = 1;
        if (had_part) {
            /* The line break before a delimiter belongs to the delimiter. */
            size_t end = pos;
            if (end > start && body[end - 1] == '\n') end--;
            if (end > start && body[end - 1] == '\r') end--;
            *part = body + start;
            *part_len = end - start;
            return 1;
        }
    }
    if (it->in_part) {
        it->in_part = 0;
        it->done = 1;
        *part = body + it->part_start;
        *part_len = n - it->part_start;
        return 1;
    }
    return 0;
}

/* An entity: its header block and its (still transfer-encoded) body. */
typedef struct {
    const char *s;
    size_t hlen;
    const char *body;
    size_t body_len;
    content_type ct;
    part_kind kind;
} mime_entity;

/* Does a body without Content-Type look like an HTML document? (Much spam sends HTML without MIME
 * headers.) */
static int looks_like_html(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && is_space(s[k])) k++;
    if (k >= n || s[k] != '<') return 0;
    size_t lim = n - k < 2048 ? n - k : 2048;
    static const char *const marks[] = {"<html", "<body", "<!doctype html", "<head", "<table",
                                        "<font", "<p>", "<div", "<br"};
    for (size_t m = 0; m < sizeof marks / sizeof *marks; m++) {
        size_t ml = strlen(marks[m]);
        for (size_t i = k; i + ml <= k + lim; i++)
            if (to_lower(s[i]) == '<') {
                size_t j = 0;
                while (j < ml && to_lower(s[i + j]) == marks[m][j]) j++;
                if (j == ml) return 1;
            }
    }
    return 0;
}

/* Does a delimiter line for `boundary` occur in body[0..n)? */
static int boundary_occurs(const char *body, size_t n, const char *boundary)
{
    multipart_iter it;
    multipart_iter_init(&it, body, n, boundary);
    const char *part;
    size_t part_len;
    multipart_next(&it, &part, &part_len);
    return it.delimiters > 0;
}

/* Guesses the boundary of a body that is MIME but does not say so correctly: the first line "--X" that is
 * directly followed by a "Content-..." header line gives the boundary X. With first_line, only the first
 * non-blank line of the body may be that line. */
static int boundary_guess(const char *body, size_t n, char *dst, size_t cap, int first_line)
{
    size_t pos = 0;
    while (pos < n && is_space(body[pos])) pos++;
    while (pos < n && pos > 0 && body[pos - 1] != '\n') pos--; /* back to the start of that line */
    while (pos < n) {
        size_t e = line_end(body, pos, n);
        size_t next = e < n ? e + 1 : n;
        size_t z = e;
        while (z > pos && is_space(body[z - 1])) z--;
        if (z - pos > 2 && z - pos - 2 < cap && body[pos] == '-' && body[pos + 1] == '-' && n - next >= 8) {
            static const char prefix[] = "content-";
            size_t k = 0;
            while (k < 8 && to_lower(body[next + k]) == prefix[k]) k++;
            if (k == 8) {
                memcpy(dst, body + pos + 2, z - pos - 2);
                dst[z - pos - 2] = '\0';
                return 1;
            }
        }
        if (first_line) return 0;
        pos = next;
    }
    return 0;
}

/* Reads the entity s[0..len): headers, type, and the body slice. Inside multipart/digest (digest_child) the
 * default type is message/rfc822; top_level enables the HTML sniffing of bodies without a type. */
static void entity_open(mime_entity *ent, const char *s, size_t len, int digest_child, int top_level)
{
    size_t hlen, body;
    headers_scan(s, len, &hlen, &body);
    ent->s = s;
    ent->hlen = hlen;
    ent->body = s + body;
    ent->body_len = len - body;
    size_t vlen;
    const char *v = field_find(s, hlen, "content-type", &vlen);
    if (v) content_type_parse(&ent->ct, v, vlen);
    else memset(&ent->ct, 0, sizeof ent->ct);
    content_type *ct = &ent->ct;
    if (!v && !digest_child &&
        boundary_guess(ent->body, ent->body_len, ct->boundary, sizeof ct->boundary,
                       field_find(s, hlen, "mime-version", &vlen) == NULL)) {
        /* A message that lost its Content-Type (spam does this) but whose body is in parts: a MIME-Version
         * field and a delimiter line anywhere, or the body opening with a delimiter line. */
        strcpy(ct->type, "multipart");
        strcpy(ct->subtype, "mixed");
        ct->has_boundary = 1;
    }
    if (ct->type[0] == '\0' || (strcmp(ct->type, "text") == 0 && ct->subtype[0] == '\0')) {
        /* Absent or unreadable type: RFC 2045 default (message/rfc822 inside multipart/digest). */
        int html = !v && top_level && looks_like_html(ent->body, ent->body_len);
        strcpy(ct->type, digest_child && !v ? "message" : "text");
        strcpy(ct->subtype, digest_child && !v ? "rfc822" : html ? "html" : "plain");
    }
    ent->kind = kind_of(ct);
    if (ent->kind == KIND_MULTIPART &&
        !(ct->has_boundary && boundary_occurs(ent->body, ent->body_len, ct->boundary))) {
        /* The boundary is missing or never used: guess it from the body, else read the body as text. */
        ct->has_boundary = boundary_guess(ent->body, ent->body_len, ct->boundary, sizeof ct->boundary, 0);
        if (!ct->has_boundary) ent->kind = KIND_PLAIN;
    }
}

/* Transfer-decodes the body into tmp, or points at it directly for identity encodings. */
static void body_decode(const mime_entity *ent, sp_textbuf *tmp, const char **data, size_t *n)
{
    size_t vlen;
    const char *v = field_find(ent->s, ent->hlen, "content-transfer-encoding", &vlen);
    char enc[24];
    size_t d = 0;
    for (size_t k = 0; v && k < vlen && d + 1 < sizeof enc; k++)
        if (!is_space(v[k]) && v[k] != '"') enc[d++] = to_lower(v[k]);
    enc[d] = '\0';
    if (strcmp(enc, "quoted-printable") == 0) {
        sp_qp_decode_append(tmp, ent->body, ent->body_len, 0);
    } else if (strcmp(enc, "base64") == 0) {
        sp_base64_decode_append(tmp, ent->body, ent->body_len);
    } else {
        *data = ent->body;
        *n = ent->body_len;
        return;
    }
    *data = tmp->data ? tmp->data : "";
    *n = tmp->len;
}

/* Appends plain text: CRLF and CR become LF, other controls vanish, blanks before a line end and blank
 * lines at the start are dropped, runs of blank lines become one (trailing ones are trimmed by the caller). */
static void plain_append(sp_textbuf *out, const char *s, size_t n)
{
    size_t start = out->len;
    if (sp_textbuf_reserve(out, n) != 0) return;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if ((unsigned char)c > ' ' && c != 0x7F) { /* the common case: copy a run of visible bytes */
            size_t j = k + 1;
            while (j < n && (unsigned char)s[j] > ' ' && s[j] != 0x7F) j++;
            memcpy(out->data + out->len, s + k, j - k);
            out->len += j - k;
            k = j - 1;
            continue;
        }
        if (c == '\r') {
            if (k + 1 < n && s[k + 1] == '\n') continue;
            c = '\n';
        }
        if (c == '\n') {
            while (out->len > start && is_wsp(out->data[out->len - 1])) out->len--;
            if (out->len == start) continue; /* leading blank line */
            /* At most one blank line in a row: runs of empty lines carry no text. */
            if (out->len - start >= 2 && out->data[out->len - 1] == '\n' && out->data[out->len - 2] == '\n')
                continue;
        } else if (c == '\t' || c == ' ') {
            if (out->len == start) continue;
        } else if ((unsigned char)c < 0x20 || c == 0x7F) {
            continue;
        }
        out->data[out->len++] = c;
    }
}

static void entity_render(sp_textbuf *out, const mime_entity *ent, int depth, render_ctx *ctx);

/* Text of a leaf part: transfer decoding, charset, then HTML or plain-text cleanup. */
static void leaf_render(sp_textbuf *out, const mime_entity *ent, render_ctx *ctx)
{
    sp_textbuf raw, utf;
    sp_textbuf_init(&raw);
    sp_textbuf_init(&utf);
    const char *data;
    size_t n;
    body_decode(ent, &raw, &data, &n);
    /* Text that is valid UTF-8 is UTF-8 whatever its label says: a Latin-1 or CJK text is almost never
     * valid UTF-8 by accident, and mislabelled UTF-8 is common. */
    const char *label = ent->ct.charset;
    char declared[32];
    if (label[0] == '\0') {
        /* Unlabelled: an HTML part's own <meta> declaration, else the message's guess (see render_ctx). */
        int meta = ent->kind == KIND_HTML && sp_charset_find_declared(data, n < 4096 ? n : 4096, declared);
        label = meta ? declared : ctx->hint;
    }
    sp_charset_append(&utf, label, (size_t)-1, data, n, SP_CHARSET_TRUST_UTF8, ctx->stats);
    if (raw.failed || utf.failed) out->failed = 1;
    if (ent->kind == KIND_HTML) sp_html_to_text_append(out, utf.data ? utf.data : "", utf.len);
    else plain_append(out, utf.data ? utf.data : "", utf.len);
    sp_textbuf_free(&raw);
    sp_textbuf_free(&utf);
}

/* Starts a part's text: one line break after earlier text (each part's text is trimmed at its end, and a
 * part without text has its separator trimmed away again by part_end). */
static void part_begin(sp_textbuf *out)
{
    if (out->len > 0) sp_textbuf_putc(out, '\n');
}

static void part_end(sp_textbuf *out) { sp_textbuf_rtrim(out); }

static void multipart_render(sp_textbuf *out, const mime_entity *ent, int depth, render_ctx *ctx)
{
    multipart_iter it;
    const char *part;
    size_t part_len;
    int digest = strcmp(ent->ct.subtype, "digest") == 0;
    if (strcmp(ent->ct.subtype, "alternative") == 0) {
        /* Preference: text/plain, then text/html, then anything else that yields text. */
        static const int rank_of[] = {[KIND_SKIP] = 0, [KIND_PLAIN] = 3, [KIND_HTML] = 2, [KIND_MULTIPART] = 1,
                                      [KIND_MESSAGE] = 1};
        for (int rank = 3; rank >= 1; rank--) {
            multipart_iter_init(&it, ent->body, ent->body_len, ent->ct.boundary);
            while (multipart_next(&it, &part, &part_len)) {
                mime_entity child;
                entity_open(&child, part, part_len, digest, 0);
                if (rank_of[child.kind] != rank) continue;
                sp_textbuf tmp;
                sp_textbuf_init(&tmp);
                entity_render(&tmp, &child, depth + 1, ctx);
                if (tmp.failed) out->failed = 1;
                int has_text = tmp.len > 0;
                if (has_text) {
                    part_begin(out);
                    sp_textbuf_append(out, tmp.data, tmp.len);
                    part_end(out);
                }
                sp_textbuf_free(&tmp);
                if (has_text) return;
            }
        }
    } else {
        multipart_iter_init(&it, ent->body, ent->body_len, ent->ct.boundary);
        while (multipart_next(&it, &part, &part_len)) {
            mime_entity child;
            entity_open(&child, part, part_len, digest, 0);
            entity_render(out, &child, depth + 1, ctx);
        }
    }
}

/* Renders a message/rfc822 body: its Subject as a line, then its content. */
static void message_render(sp_textbuf *out, const char *s, size_t len, int depth, render_ctx *ctx)
{
    mime_entity inner;
    entity_open(&inner, s, len, 0, 1);
    size_t vlen;
    const char *subject = field_find(inner.s, inner.hlen, "subject", &vlen);
    if (subject) {
        part_begin(out);
        header_value_append(out, subject, vlen, ctx);
        part_end(out);
    }
    entity_render(out, &inner, depth + 1, ctx);
}

static void entity_render(sp_textbuf *out, const mime_entity *ent, int depth, render_ctx *ctx)
{
    if (depth > MIME_MAX_DEPTH) return;
    switch (ent->kind) {
    case KIND_SKIP:
        return;
    case KIND_PLAIN:
    case KIND_HTML: {
        part_begin(out);
        leaf_render(out, ent, ctx);
        part_end(out);
        return;
    }
    case KIND_MULTIPART:
        multipart_render(out, ent, depth, ctx);
        return;
    case KIND_MESSAGE: {
        /* A transfer-encoded message/rfc822 is not allowed, but exists: decode it first. */
        sp_textbuf raw;
        sp_textbuf_init(&raw);
        const char *data;
        size_t n;
        body_decode(ent, &raw, &data, &n);
        if (raw.failed) out->failed = 1;
        message_render(out, data, n, depth, ctx);
        sp_textbuf_free(&raw);
        return;
    }
    }
}

/* The charset guess of render_ctx.hint for the message s[0..len) with top-level entity top ("" if none). */
static void message_hint_find(char hint[32], const mime_entity *top, const char *s, size_t len)
{
    hint[0] = '\0';
    if (sp_charset_find_declared(s, len, hint)) return;
    for (size_t i = 0; i + 2 < top->hlen; i++) {
        if (s[i] != '=' || s[i + 1] != '?') continue;
        size_t j = i + 2;
        while (j < top->hlen && j < i + 2 + 40 && s[j] != '?' && !is_space(s[j])) j++;
        if (j >= top->hlen || s[j] != '?') continue;
        if (sp_charset_guess_usable(s + i + 2, j - i - 2)) {
            memcpy(hint, s + i + 2, j - i - 2);
            hint[j - i - 2] = '\0';
            return;
        }
    }
}

sp_status sp_mail_to_text_stats(const char *raw, size_t len, const sp_mail_options *opt, char **text, size_t *text_len,
                                sp_charset_stats *stats)
{
    sp_mail_options defaults = {0};
    if (!opt) opt = &defaults;
    if (!raw) len = 0;
    const char *s = raw ? raw : "";
    /* An mbox separator line ("From sender date") is not part of the message. */
    if (len >= 5 && memcmp(s, "From ", 5) == 0) {
        size_t e = line_end(s, 0, len);
        size_t next = e < len ? e + 1 : len;
        s += next;
        len -= next;
    }
    sp_textbuf out;
    sp_textbuf_init(&out);
    mime_entity top;
    entity_open(&top, s, len, 0, 1);
    render_ctx c = {stats, ""};
    render_ctx *ctx = &c;
    message_hint_find(c.hint, &top, s, len);
    if (opt->keep_headers) {
        size_t pos = 0;
        mime_field f;
        while (field_next(top.s, top.hlen, &pos, &f)) {
            sp_utf8_append_decoded(&out, SP_CHARSET_UTF8, f.name, f.name_len);
            sp_textbuf_append(&out, ": ", 2);
            header_value_append(&out, f.value, f.value_len, ctx);
            sp_textbuf_putc(&out, '\n');
        }
        sp_textbuf_putc(&out, '\n');
    } else {
        size_t vlen;
        const char *subject = field_find(top.s, top.hlen, "subject", &vlen);
        if (subject) header_value_append(&out, subject, vlen, ctx);
        sp_textbuf_append(&out, "\n\n", 2);
    }
    sp_textbuf body;
    sp_textbuf_init(&body);
    entity_render(&body, &top, 0, ctx);
    sp_textbuf_rtrim(&body);
    if (body.failed) out.failed = 1;
    sp_textbuf_append(&out, body.data, body.len);
    sp_textbuf_free(&body);
    return sp_textbuf_finish(&out, text, text_len);
}

sp_status sp_mail_to_text(const char *raw, size_t len, const sp_mail_options *opt, char **text, size_t *text_len)
{
    return sp_mail_to_text_stats(raw, len, opt, text, text_len, NULL);
}
