/*
 * json.h: the agent's small, strict JSON reader (one plan line at a time) and a line writer.
 *
 * Hand-written because no JSON library links statically on every ABI we build (glibc, bionic, NDK
 * clang). The reader follows RFC 8259 strictly: no comments, no trailing commas, no NaN, no leading
 * zeros, no unescaped control characters, valid UTF-8, no duplicate keys, nothing after the value but
 * whitespace. Numbers are doubles. Nesting is capped so a hostile line cannot overflow the stack.
 *
 * The writer builds one line in memory and json_writer_emit() writes it with a single fwrite + fflush,
 * so a reader on the other end of a pipe never sees a half line unless the agent dies mid-write.
 */
#ifndef PL_JSON_H
#define PL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
typedef struct json_member json_member;

struct json_value {
  json_type type;
  int boolean;
  double number;
  char *string; /* NUL-terminated UTF-8; strings holding "\u0000" are rejected, so this is the whole text */
  size_t count; /* items (array) or members (object) */
  json_value **items;
  json_member *members;
};

struct json_member {
  char *key;
  json_value *value;
};

/* Parses one complete JSON text (a plan line, without its newline). On success returns a tree the caller
 * frees with json_free; on failure returns NULL and writes "what was expected, at which byte" to err. */
json_value *json_parse_line(const char *text, size_t len, char *err, size_t errlen);
void json_free(json_value *value);

/* Member of an object by key, or NULL (also NULL when obj is not an object). */
const json_value *json_get(const json_value *obj, const char *key);
const char *json_type_name(json_type type);

/* ---- writer ---- */

typedef struct {
  char *buf;
  size_t len, cap;
  int depth;
  int need_comma[JSON_MAX_DEPTH + 1];
  int after_key;
  int failed; /* out of memory or nesting too deep: emit() then reports failure instead of bad JSON */
} json_writer;

void json_writer_init(json_writer *w);
void json_writer_free(json_writer *w);
void json_writer_reset(json_writer *w);
/* Writes the line plus '\n' in one fwrite and flushes; resets the writer. Returns 0, or -1 on failure. */
int json_writer_emit(json_writer *w, FILE *out);

void json_object_begin(json_writer *w);
void json_object_end(json_writer *w);
void json_array_begin(json_writer *w);
void json_array_end(json_writer *w);
void json_key(json_writer *w, const char *key);
void json_string(json_writer *w, const char *s);
/* Shortest text that reads back as the same double; NaN and infinities (not JSON) are written as null. */
void json_number(json_writer *w, double x);
void json_int(json_writer *w, int64_t x);
void json_bool(json_writer *w, int b);
void json_null(json_writer *w);

/* key + value shorthands */
void json_field_string(json_writer *w, const char *key, const char *s); /* s == NULL writes null */
void json_field_number(json_writer *w, const char *key, double x);
void json_field_int(json_writer *w, const char *key, int64_t x);
void json_field_bool(json_writer *w, const char *key, int b);
void json_field_null(json_writer *w, const char *key);

#endif
