/* json.c: strict RFC 8259 reader for plan lines and an in-memory line writer (see json.h). */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ reader */

typedef struct {
  const char *start, *p, *end;
  char *err;
  size_t errlen;
  int depth;
  int failed;
} json_cursor;

static void cursor_fail(json_cursor *c, const char *fmt, ...) {
  if (c->failed) return;
  c->failed = 1;
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (c->err && c->errlen > 0) snprintf(c->err, c->errlen, "invalid JSON at byte %zu: %s", (size_t)(c->p - c->start), what);
}

/* Describes the byte at the cursor for error messages, e.g. "'}'" or "end of line". */
static const char *cursor_seen(const json_cursor *c, char *buf, size_t len) {
  if (c->p >= c->end) return "end of line";
  unsigned char ch = (unsigned char)*c->p;
  if (ch >= 0x20 && ch < 0x7f)
    snprintf(buf, len, "'%c'", ch);
  else
    snprintf(buf, len, "byte 0x%02x", ch);
  return buf;
}

static void skip_ws(json_cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static json_value *value_new(json_cursor *c, json_type type) {
  json_value *v = calloc(1, sizeof *v);
  if (!v) cursor_fail(c, "out of memory");
  else v->type = type;
  return v;
}

static int literal(json_cursor *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
  c->p += n;
  return 1;
}

static int hex4(json_cursor *c, unsigned *out) {
  if (c->end - c->p < 4) return 0;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char h = c->p[i];
    v <<= 4;
    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
    else return 0;
  }
  c->p += 4;
  *out = v;
  return 1;
}

static size_t utf8_put(char *dst, unsigned cp) {
  if (cp < 0x80) { dst[0] = (char)cp; return 1; }
  if (cp < 0x800) { dst[0] = (char)(0xc0 | (cp >> 6)); dst[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
  if (cp < 0x10000) {
    dst[0] = (char)(0xe0 | (cp >> 12)); dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); dst[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  dst[0] = (char)(0xf0 | (cp >> 18)); dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); dst[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), or 0. */
static size_t utf8_valid(const unsigned char *s, const unsigned char *end) {
  unsigned char b = s[0];
  size_t n;
  unsigned cp;
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) { n = 2; cp = b & 0x1f; }
  else if (b >= 0xe0 && b <= 0xef) { n = 3; cp = b & 0x0f; }
  else if (b >= 0xf0 && b <= 0xf4) { n = 4; cp = b & 0x07; }
  else return 0;
  if ((size_t)(end - s) < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/* Reads a string after its opening quote. Escapes never grow the text, so the input length bounds it. */
static char *parse_string_body(json_cursor *c) {
  const char *scan = c->p;
  while (scan < c->end && *scan != '"') scan += (*scan == '\\' && scan + 1 < c->end) ? 2 : 1;
  char *out = malloc((size_t)(scan - c->p) + 1);
  if (!out) { cursor_fail(c, "out of memory"); return NULL; }
  size_t n = 0;
  char seen[24];
  for (;;) {
    if (c->p >= c->end) { cursor_fail(c, "unterminated string"); break; }
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') { c->p++; out[n] = '\0'; return out; }
    if (ch < 0x20) { cursor_fail(c, "control character 0x%02x inside a string (escape it)", ch); break; }
    if (ch == '\\') {
      c->p++;
      if (c->p >= c->end) { cursor_fail(c, "unterminated escape"); break; }
      char e = *c->p++;
      switch (e) {
        case '"': out[n++] = '"'; continue;
        case '\\': out[n++] = '\\'; continue;
        case '/': out[n++] = '/'; continue;
        case 'b': out[n++] = '\b'; continue;
        case 'f': out[n++] = '\f'; continue;
        case 'n': out[n++] = '\n'; continue;
        case 'r': out[n++] = '\r'; continue;
        case 't': out[n++] = '\t'; continue;
        case 'u': {
          unsigned cp;
          if (!hex4(c, &cp)) { cursor_fail(c, "expected 4 hex digits after \\u"); goto fail; }
          if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned lo;
            if (!(c->end - c->p >= 2 && c->p[0] == '\\' && c->p[1] == 'u')) { cursor_fail(c, "lone high surrogate"); goto fail; }
            c->p += 2;
            if (!hex4(c, &lo) || lo < 0xdc00 || lo > 0xdfff) { cursor_fail(c, "expected a low surrogate"); goto fail; }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            cursor_fail(c, "lone low surrogate");
            goto fail;
          }
          if (cp == 0) { cursor_fail(c, "\\u0000 is not accepted in plan strings"); goto fail; }
          n += utf8_put(out + n, cp);
          continue;
        }
        default:
          c->p--;
          cursor_fail(c, "unknown escape \\%s", cursor_seen(c, seen, sizeof seen));
          goto fail;
      }
    }
    size_t len = utf8_valid((const unsigned char *)c->p, (const unsigned char *)c->end);
    if (len == 0) { cursor_fail(c, "invalid UTF-8"); break; }
    memcpy(out + n, c->p, len);
    n += len;
    c->p += len;
  }
fail:
  free(out);
  return NULL;
}

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* RFC 8259 number grammar checked by hand; strtod (C locale: the agent never calls setlocale) converts. */
static json_value *parse_number(json_cursor *c) {
  const char *s = c->p;
  if (c->p < c->end && *c->p == '-') c->p++;
  if (c->p >= c->end || !is_digit(*c->p)) { cursor_fail(c, "expected a digit"); return NULL; }
  if (*c->p == '0') {
    c->p++;
    if (c->p < c->end && is_digit(*c->p)) { cursor_fail(c, "leading zero in a number"); return NULL; }
  } else {
    while (c->p < c->end && is_digit(*c->p)) c->p++;
  }
  if (c->p < c->end && *c->p == '.') {
    c->p++;
    if (c->p >= c->end || !is_digit(*c->p)) { cursor_fail(c, "expected a digit after '.'"); return NULL; }
    while (c->p < c->end && is_digit(*c->p)) c->p++;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
    if (c->p >= c->end || !is_digit(*c->p)) { cursor_fail(c, "expected a digit in the exponent"); return NULL; }
    while (c->p < c->end && is_digit(*c->p)) c->p++;
  }
  char buf[128];
  size_t n = (size_t)(c->p - s);
  if (n >= sizeof buf) { c->p = s; cursor_fail(c, "number longer than %zu characters", sizeof buf - 1); return NULL; }
  memcpy(buf, s, n);
  buf[n] = '\0';
  double x = strtod(buf, NULL);
  if (!isfinite(x)) { c->p = s; cursor_fail(c, "number out of range"); return NULL; }
  json_value *v = value_new(c, JSON_NUMBER);
  if (v) v->number = x;
  return v;
}

static json_value *parse_value(json_cursor *c);

static int grow(void **array, size_t elem, size_t count, size_t *cap) {
  if (count < *cap) return 1;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *grown = realloc(*array, ncap * elem);
  if (!grown) return 0;
  *array = grown;
  *cap = ncap;
  return 1;
}

static json_value *parse_array(json_cursor *c) {
  json_value *v = value_new(c, JSON_ARRAY);
  if (!v) return NULL;
  size_t cap = 0;
  char seen[24];
  skip_ws(c);
  if (c->p < c->end && *c->p == ']') { c->p++; return v; }
  for (;;) {
    json_value *item = parse_value(c);
    if (!item) break;
    if (!grow((void **)&v->items, sizeof *v->items, v->count, &cap)) { json_free(item); cursor_fail(c, "out of memory"); break; }
    v->items[v->count++] = item;
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') { c->p++; continue; }
    if (c->p < c->end && *c->p == ']') { c->p++; return v; }
    cursor_fail(c, "expected ',' or ']' in an array, found %s", cursor_seen(c, seen, sizeof seen));
    break;
  }
  json_free(v);
  return NULL;
}

static json_value *parse_object(json_cursor *c) {
  json_value *v = value_new(c, JSON_OBJECT);
  if (!v) return NULL;
  size_t cap = 0;
  char seen[24];
  skip_ws(c);
  if (c->p < c->end && *c->p == '}') { c->p++; return v; }
  for (;;) {
    skip_ws(c);
    if (c->p >= c->end || *c->p != '"') { cursor_fail(c, "expected a quoted key, found %s", cursor_seen(c, seen, sizeof seen)); break; }
    const char *key_at = c->p;
    c->p++;
    char *key = parse_string_body(c);
    if (!key) break;
    if (json_get(v, key)) {
      c->p = key_at;
      cursor_fail(c, "duplicate key \"%.40s\"", key);
      free(key);
      break;
    }
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':') {
      cursor_fail(c, "expected ':' after key \"%.40s\", found %s", key, cursor_seen(c, seen, sizeof seen));
      free(key);
      break;
    }
    c->p++;
    json_value *member = parse_value(c);
    if (!member) { free(key); break; }
    if (!grow((void **)&v->members, sizeof *v->members, v->count, &cap)) {
      free(key);
      json_free(member);
      cursor_fail(c, "out of memory");
      break;
    }
    v->members[v->count].key = key;
    v->members[v->count].value = member;
    v->count++;
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') { c->p++; continue; }
    if (c->p < c->end && *c->p == '}') { c->p++; return v; }
    cursor_fail(c, "expected ',' or '}' in an object, found %s", cursor_seen(c, seen, sizeof seen));
    break;
  }
  json_free(v);
  return NULL;
}

static json_value *parse_value(json_cursor *c) {
  char seen[24];
  skip_ws(c);
  if (c->p >= c->end) { cursor_fail(c, "expected a value, found end of line"); return NULL; }
  char ch = *c->p;
  if (ch == '{' || ch == '[') {
    if (c->depth >= JSON_MAX_DEPTH) { cursor_fail(c, "nesting deeper than %d", JSON_MAX_DEPTH); return NULL; }
    c->depth++;
    c->p++;
    json_value *v = ch == '{' ? parse_object(c) : parse_array(c);
    c->depth--;
    return v;
  }
  if (ch == '"') {
    c->p++;
    char *s = parse_string_body(c);
    if (!s) return NULL;
    json_value *v = value_new(c, JSON_STRING);
    if (!v) { free(s); return NULL; }
    v->string = s;
    return v;
  }
  if (ch == '-' || is_digit(ch)) return parse_number(c);
  if (literal(c, "true")) { json_value *v = value_new(c, JSON_BOOL); if (v) v->boolean = 1; return v; }
  if (literal(c, "false")) return value_new(c, JSON_BOOL);
  if (literal(c, "null")) return value_new(c, JSON_NULL);
  cursor_fail(c, "expected a value, found %s", cursor_seen(c, seen, sizeof seen));
  return NULL;
}

json_value *json_parse_line(const char *text, size_t len, char *err, size_t errlen) {
  json_cursor c = {.start = text, .p = text, .end = text + len, .err = err, .errlen = errlen};
  if (err && errlen) err[0] = '\0';
  json_value *v = parse_value(&c);
  if (!v) return NULL;
  skip_ws(&c);
  if (c.p < c.end) {
    char seen[24];
    cursor_fail(&c, "trailing characters after the value, starting with %s", cursor_seen(&c, seen, sizeof seen));
    json_free(v);
    return NULL;
  }
  return v;
}

void json_free(json_value *v) {
  if (!v) return;
  for (size_t i = 0; v->type == JSON_ARRAY && i < v->count; i++) json_free(v->items[i]);
  for (size_t i = 0; v->type == JSON_OBJECT && i < v->count; i++) {
    free(v->members[i].key);
    json_free(v->members[i].value);
  }
  free(v->items);
  free(v->members);
  free(v->string);
  free(v);
}

const json_value *json_get(const json_value *obj, const char *key) {
  if (!obj || obj->type != JSON_OBJECT) return NULL;
  for (size_t i = 0; i < obj->count; i++)
    if (strcmp(obj->members[i].key, key) == 0) return obj->members[i].value;
  return NULL;
}

const char *json_type_name(json_type type) {
  switch (type) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    case JSON_OBJECT: return "an object";
  }
  return "?";
}

/* ------------------------------------------------------------------ writer */

void json_writer_init(json_writer *w) { memset(w, 0, sizeof *w); }

void json_writer_free(json_writer *w) {
  free(w->buf);
  json_writer_init(w);
}

void json_writer_reset(json_writer *w) {
  w->len = 0;
  w->depth = 0;
  w->after_key = 0;
  w->failed = 0;
  w->need_comma[0] = 0;
}

static void put(json_writer *w, const char *s, size_t n) {
  if (w->failed) return;
  if (w->len + n + 2 > w->cap) { /* +2: room for the '\n' that emit() appends */
    size_t ncap = w->cap ? w->cap : 1024;
    while (w->len + n + 2 > ncap) ncap *= 2;
    char *grown = realloc(w->buf, ncap);
    if (!grown) { w->failed = 1; return; }
    w->buf = grown;
    w->cap = ncap;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

static void puts_(json_writer *w, const char *s) { put(w, s, strlen(s)); }

/* Comma before every value or key that is not the first in its container. */
static void before_value(json_writer *w) {
  if (w->after_key) { w->after_key = 0; return; }
  if (w->need_comma[w->depth]) put(w, ",", 1);
  w->need_comma[w->depth] = 1;
}

static void open_(json_writer *w, char ch) {
  before_value(w);
  if (w->depth >= JSON_MAX_DEPTH) { w->failed = 1; return; }
  put(w, &ch, 1);
  w->need_comma[++w->depth] = 0;
}

static void close_(json_writer *w, char ch) {
  if (w->depth == 0) { w->failed = 1; return; }
  w->depth--;
  put(w, &ch, 1);
}

void json_object_begin(json_writer *w) { open_(w, '{'); }
void json_object_end(json_writer *w) { close_(w, '}'); }
void json_array_begin(json_writer *w) { open_(w, '['); }
void json_array_end(json_writer *w) { close_(w, ']'); }

static void put_escaped(json_writer *w, const char *s) {
  put(w, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    switch (*p) {
      case '"': puts_(w, "\\\""); break;
      case '\\': puts_(w, "\\\\"); break;
      case '\n': puts_(w, "\\n"); break;
      case '\r': puts_(w, "\\r"); break;
      case '\t': puts_(w, "\\t"); break;
      default:
        if (*p < 0x20 || *p == 0x7f) {
          snprintf(esc, sizeof esc, "\\u%04x", *p);
          puts_(w, esc);
        } else {
          put(w, (const char *)p, 1);
        }
    }
  }
  put(w, "\"", 1);
}

void json_key(json_writer *w, const char *key) {
  before_value(w);
  put_escaped(w, key);
  put(w, ":", 1);
  w->after_key = 1;
}

void json_string(json_writer *w, const char *s) {
  before_value(w);
  put_escaped(w, s);
}

void json_number(json_writer *w, double x) {
  before_value(w);
  if (!isfinite(x)) { puts_(w, "null"); return; }
  char buf[40];
  /* %.15g is exact for most values people type (0.75, 1e-3); fall back to 17 digits when it is not. */
  snprintf(buf, sizeof buf, "%.15g", x);
  if (strtod(buf, NULL) != x) snprintf(buf, sizeof buf, "%.17g", x);
  puts_(w, buf);
}

void json_int(json_writer *w, int64_t x) {
  before_value(w);
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", (long long)x);
  puts_(w, buf);
}

void json_bool(json_writer *w, int b) {
  before_value(w);
  puts_(w, b ? "true" : "false");
}

void json_null(json_writer *w) {
  before_value(w);
  puts_(w, "null");
}

void json_field_string(json_writer *w, const char *key, const char *s) {
  json_key(w, key);
  if (s) json_string(w, s);
  else json_null(w);
}
void json_field_number(json_writer *w, const char *key, double x) { json_key(w, key); json_number(w, x); }
void json_field_int(json_writer *w, const char *key, int64_t x) { json_key(w, key); json_int(w, x); }
void json_field_bool(json_writer *w, const char *key, int b) { json_key(w, key); json_bool(w, b); }
void json_field_null(json_writer *w, const char *key) { json_key(w, key); json_null(w); }

int json_writer_emit(json_writer *w, FILE *out) {
  int ok = !w->failed && w->depth == 0 && w->len > 0;
  if (ok) {
    w->buf[w->len] = '\n';
    ok = fwrite(w->buf, 1, w->len + 1, out) == w->len + 1;
    ok = fflush(out) == 0 && ok;
  }
  json_writer_reset(w);
  return ok ? 0 : -1;
}
