/*
 * pdf.c - the hub's PDF 1.4 writer (see pdf.h).  The file is built in
 * memory in the order it is read: header, the two font objects, each page
 * (its deflated content stream, then the page object) as soon as it is
 * finished, and at the end the page tree, the catalog, /Info, the xref
 * table with every object's byte offset, and the trailer.  Object numbers
 * are fixed so nothing needs patching: 1 catalog, 2 page tree, 3 and 4 the
 * fonts, 5 /Info, then 6+2i and 7+2i for page i's content and page.  The
 * fonts are the standard Type 1 Helvetica pair, which every reader has,
 * so widths come from their published metrics (the tables below, in
 * thousandths of the font size, per WinAnsi code).  Deflating goes
 * through transport/batch.c, the one file that includes <zlib.h>.
 * Called by hub/report_pdf.c and tests/unit/test_report_pdf.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "hub/pdf.h"
#include "transport/batch.h"

#define OBJ_CATALOG	1
#define OBJ_PAGES	2
#define OBJ_FONT	3	/* + font */
#define OBJ_INFO	5
#define OBJ_FIRST_PAGE	6
#define OBJ_MAX		(OBJ_FIRST_PAGE + 2 * PDF_PAGES_MAX)
#define TITLE_CPS_MAX	1024	/* code points of the /Info title */
#define FOOTER_MAX	200
#define NUM_MAX		1e7	/* coordinates are clamped to +-this */

struct pbuf {
	unsigned char	*b;
	size_t		 len, cap, max;
};

struct pdf {
	struct pbuf	 out;		/* the file so far */
	struct pbuf	 page;		/* operators of the current page */
	size_t		 off[OBJ_MAX + 1];
	int		 npages;	/* finished pages */
	int		 open;		/* a page is being drawn */
	double		 y;
	double		 col[3];
	char		*title;
	char		 footer[FOOTER_MAX];
	int		 failed;
	char		 err[PDF_ERR_MAX];
};

/*
 * Advance widths of printable ASCII (32..126) and of 160..255, Helvetica
 * then Helvetica-Bold, from the fonts' public AFM metrics.  WinAnsi puts
 * quotesingle at 39 and grave at 96 (not the quote glyphs of
 * StandardEncoding), and those are what the tables hold.
 */
static const uint16_t w_ascii[2][95] = {
	{ 278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278,
	  333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
	  278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611,
	  778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
	  611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333,
	  556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833,
	  556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500,
	  334, 260, 334, 584 },
	{ 278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278,
	  333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
	  333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611,
	  778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667,
	  611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333,
	  556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889,
	  611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500,
	  389, 280, 389, 584 },
};

static const uint16_t w_latin1[2][96] = {
	{ 278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584,
	  333, 737, 333, 400, 584, 333, 333, 333, 556, 537, 278, 333, 333,
	  365, 556, 834, 834, 834, 611,
	  667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278,
	  278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722,
	  722, 722, 722, 667, 667, 611,
	  556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278,
	  278, 278, 278, 556, 556, 556, 556, 556, 556, 556, 584, 611, 556,
	  556, 556, 556, 500, 556, 500 },
	{ 278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584,
	  333, 737, 333, 400, 584, 333, 333, 333, 611, 556, 278, 333, 333,
	  365, 556, 834, 834, 834, 611,
	  722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278,
	  278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722,
	  722, 722, 722, 667, 667, 611,
	  556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278,
	  278, 278, 278, 611, 611, 611, 611, 611, 611, 611, 584, 611, 611,
	  611, 611, 611, 556, 611, 556 },
};

/* The few characters of WinAnsi's 0x80..0x9F that reports use. */
static const struct {
	uint32_t	cp;
	uint8_t		code;
	uint16_t	w[2];
} w_extra[] = {
	{ 0x20ac, 0x80, { 556, 556 } },		/* euro */
	{ 0x2026, 0x85, { 1000, 1000 } },	/* ellipsis */
	{ 0x2018, 0x91, { 222, 278 } },		/* quoteleft */
	{ 0x2019, 0x92, { 222, 278 } },		/* quoteright */
	{ 0x201c, 0x93, { 333, 500 } },		/* quotedblleft */
	{ 0x201d, 0x94, { 333, 500 } },		/* quotedblright */
	{ 0x2022, 0x95, { 350, 350 } },		/* bullet */
	{ 0x2013, 0x96, { 556, 556 } },		/* endash */
	{ 0x2014, 0x97, { 1000, 1000 } },	/* emdash */
	{ 0x2122, 0x99, { 1000, 1000 } },	/* trademark */
};

/* Add a string literal (its length known at compile time). */
#define PB(p, b, lit)	pbuf_add((p), (b), (lit), sizeof(lit) - 1)

/* ------------------------------------------------------------ errors */

static void pdf_fail(struct pdf *p, const char *fmt, ...) PK_PRINTF(2, 3);

static void
pdf_fail(struct pdf *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

int
pdf_failed(const struct pdf *p)
{
	return p->failed;
}

/* ------------------------------------------------------------ buffers */

static int
pbuf_add(struct pdf *p, struct pbuf *b, const void *data, size_t n)
{
	if (p->failed)
		return -1;
	if (n > b->max - b->len) {
		if (b == &p->out)
			pdf_fail(p, "PDF larger than %u bytes", PDF_BYTES_MAX);
		else
			pdf_fail(p, "page %d has more than %u bytes of drawing",
			    p->npages + 1, PDF_PAGE_RAW_MAX);
		return -1;
	}
	while (b->cap - b->len < n) {
		if (pk_grow(&b->b, &b->cap, b->cap, 1) == -1) {
			pdf_fail(p, "out of memory");
			return -1;
		}
	}
	if (n > 0)
		memcpy(b->b + b->len, data, n);
	b->len += n;
	return 0;
}

static int pbuf_printf(struct pdf *p, struct pbuf *b, const char *fmt, ...)
    PK_PRINTF(3, 4);

/* Short formatted pieces: numbers, names, object headers. */
static int
pbuf_printf(struct pdf *p, struct pbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		pdf_fail(p, "internal: formatted piece too long");
		return -1;
	}
	return pbuf_add(p, b, tmp, (size_t)n);
}

/*
 * A number with two decimals, whatever the C locale says about decimal
 * points (printf's %f would write "12,50" under some locales).
 */
static int
pbuf_num(struct pdf *p, struct pbuf *b, double v)
{
	long long c;

	if (!isfinite(v))
		v = 0;
	v = PK_MAX(-NUM_MAX, PK_MIN(NUM_MAX, v));
	c = llround(v * 100.0);
	return pbuf_printf(p, b, "%s%lld.%02lld ", c < 0 ? "-" : "",
	    (c < 0 ? -c : c) / 100, (c < 0 ? -c : c) % 100);
}

/* ------------------------------------------------------------ text */

/*
 * One UTF-8 character from s[0..n), n >= 1: its length, the code point in
 * *cp; a malformed sequence is one byte and U+FFFD.
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t len, i;

	*cp = 0xfffd;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 1;
	if (n < len)
		return 1;
	/* Second-byte ranges that rule out overlongs, surrogates, >U+10FFFF. */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 1;
	c &= 0x3f >> (len - 1);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/* The WinAnsi code that prints cp: controls become spaces, others '?'. */
static uint8_t
winansi(uint32_t cp)
{
	size_t i;

	if (cp >= 0x20 && cp <= 0x7e)
		return (uint8_t)cp;
	if (cp < 0x20 || cp == 0x7f)
		return ' ';
	if (cp >= 0xa0 && cp <= 0xff)
		return (uint8_t)cp;
	for (i = 0; i < PK_NELEM(w_extra); i++)
		if (w_extra[i].cp == cp)
			return w_extra[i].code;
	return '?';
}

/* Width of WinAnsi code c in font, thousandths of the size. */
static unsigned
code_width(int font, uint8_t c)
{
	size_t i;

	font = font == PDF_HELV_BOLD ? 1 : 0;
	if (c >= 0x20 && c <= 0x7e)
		return w_ascii[font][c - 0x20];
	if (c >= 0xa0)
		return w_latin1[font][c - 0xa0];
	for (i = 0; i < PK_NELEM(w_extra); i++)
		if (w_extra[i].code == c)
			return w_extra[i].w[font];
	return w_ascii[font][0];
}

double
pdf_text_width(int font, double size, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long total = 0;
	uint32_t cp;
	size_t i = 0;

	while (i < n) {
		i += utf8_next(u + i, n - i, &cp);
		total += code_width(font, winansi(cp));
	}
	return (double)total * size / 1000.0;
}

/* s[0..n) as a PDF string literal of WinAnsi codes, parentheses included. */
static int
pbuf_string(struct pdf *p, struct pbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char tmp[256];
	size_t i = 0, t = 0;
	uint32_t cp;
	uint8_t c;

	tmp[t++] = '(';
	while (i < n) {
		i += utf8_next(u + i, n - i, &cp);
		c = winansi(cp);
		if (t > sizeof(tmp) - 5) {
			if (pbuf_add(p, b, tmp, t) == -1)
				return -1;
			t = 0;
		}
		if (c == '(' || c == ')' || c == '\\') {
			tmp[t++] = '\\';
			tmp[t++] = c;
		} else if (c < 0x20 || c > 0x7e) {
			/* Octal keeps the stream 7-bit clean. */
			tmp[t++] = '\\';
			tmp[t++] = (unsigned char)('0' + ((c >> 6) & 7));
			tmp[t++] = (unsigned char)('0' + ((c >> 3) & 7));
			tmp[t++] = (unsigned char)('0' + (c & 7));
		} else {
			tmp[t++] = c;
		}
	}
	tmp[t++] = ')';
	return pbuf_add(p, b, tmp, t);
}

/* ------------------------------------------------------------ pages */

static int
page_begin(struct pdf *p)
{
	if (p->npages >= PDF_PAGES_MAX) {
		pdf_fail(p, "report needs more than %d pages", PDF_PAGES_MAX);
		return -1;
	}
	p->page.len = 0;
	p->open = 1;
	p->y = PDF_PAGE_H - PDF_MARGIN;
	/* Every content stream starts in the default state: say the colour. */
	pdf_rgb(p, p->col[0], p->col[1], p->col[2]);
	return p->failed ? -1 : 0;
}

static int
page_footer(struct pdf *p)
{
	char num[32];

	snprintf(num, sizeof(num), "Page %d", p->npages + 1);
	if (PB(p, &p->page, "0.45 g\n") == -1)
		return -1;
	if (p->footer[0] != '\0' && pdf_text(p, PDF_MARGIN, PDF_FOOTER_Y,
	    PDF_HELV, 8, p->footer) == -1)
		return -1;
	return pdf_text_right(p, PDF_PAGE_W - PDF_MARGIN, PDF_FOOTER_Y,
	    PDF_HELV, 8, num);
}

/* Deflate the page's operators, falling back to plain when that fails. */
static int
page_write_stream(struct pdf *p, int obj)
{
	unsigned char *z = NULL;
	size_t zcap, zlen = 0;
	int r = PK_BE_ARG;

	zcap = p->page.len + p->page.len / 8 + 128;
	if (p->page.len > 0 && (z = malloc(zcap)) != NULL)
		r = pk_chunk_deflate(p->page.b, p->page.len, z, zcap, &zlen);
	p->off[obj] = p->out.len;
	if (r == PK_BE_OK) {
		pbuf_printf(p, &p->out, "%d 0 obj\n<< /Length %zu /Filter "
		    "/FlateDecode >>\nstream\n", obj, zlen);
		pbuf_add(p, &p->out, z, zlen);
	} else {
		pbuf_printf(p, &p->out, "%d 0 obj\n<< /Length %zu >>\nstream\n",
		    obj, p->page.len);
		pbuf_add(p, &p->out, p->page.b, p->page.len);
	}
	free(z);
	PB(p, &p->out, "\nendstream\nendobj\n");
	return p->failed ? -1 : 0;
}

static int
page_end(struct pdf *p)
{
	int cobj = OBJ_FIRST_PAGE + 2 * p->npages;

	if (!p->open)
		return 0;
	if (page_footer(p) == -1 || page_write_stream(p, cobj) == -1)
		return -1;
	p->off[cobj + 1] = p->out.len;
	pbuf_printf(p, &p->out, "%d 0 obj\n<< /Type /Page /Parent %d 0 R "
	    "/MediaBox [0 0 %.3f %.3f] /Resources << /Font << /F1 %d 0 R "
	    "/F2 %d 0 R >> >> /Contents %d 0 R >>\nendobj\n", cobj + 1,
	    OBJ_PAGES, PDF_PAGE_W, PDF_PAGE_H, OBJ_FONT, OBJ_FONT + 1, cobj);
	if (p->failed)
		return -1;
	p->npages++;
	p->open = 0;
	return 0;
}

int
pdf_new_page(struct pdf *p)
{
	if (p->failed)
		return -1;
	if (page_end(p) == -1)
		return -1;
	return page_begin(p);
}

int
pdf_pages(const struct pdf *p)
{
	return p->npages + (p->open ? 1 : 0);
}

double
pdf_y(const struct pdf *p)
{
	return p->y;
}

void
pdf_set_y(struct pdf *p, double y)
{
	p->y = y;
}

int
pdf_need(struct pdf *p, double h)
{
	if (p->failed)
		return -1;
	if (p->y - h >= PDF_MARGIN)
		return 0;
	return pdf_new_page(p) == -1 ? -1 : 1;
}

/* ------------------------------------------------------------ drawing */

static double
unit(double v)
{
	if (!isfinite(v) || v < 0)
		return 0;
	return v > 1 ? 1 : v;
}

void
pdf_rgb(struct pdf *p, double r, double g, double b)
{
	int i;

	p->col[0] = unit(r);
	p->col[1] = unit(g);
	p->col[2] = unit(b);
	for (i = 0; i < 3; i++)
		pbuf_num(p, &p->page, p->col[i]);
	PB(p, &p->page, "rg ");
	for (i = 0; i < 3; i++)
		pbuf_num(p, &p->page, p->col[i]);
	PB(p, &p->page, "RG\n");
}

void
pdf_grey(struct pdf *p, double g)
{
	pdf_rgb(p, g, g, g);
}

int
pdf_text(struct pdf *p, double x, double y, int font, double size,
    const char *s)
{
	return pdf_text_n(p, x, y, font, size, s, s == NULL ? 0 : strlen(s));
}

int
pdf_text_n(struct pdf *p, double x, double y, int font, double size,
    const char *s, size_t n)
{
	if (p->failed)
		return -1;
	pbuf_printf(p, &p->page, "BT /F%d ", font == PDF_HELV_BOLD ? 2 : 1);
	pbuf_num(p, &p->page, size);
	PB(p, &p->page, "Tf ");
	pbuf_num(p, &p->page, x);
	pbuf_num(p, &p->page, y);
	PB(p, &p->page, "Td ");
	pbuf_string(p, &p->page, s == NULL ? "" : s, s == NULL ? 0 : n);
	PB(p, &p->page, " Tj ET\n");
	return p->failed ? -1 : 0;
}

int
pdf_text_right(struct pdf *p, double x, double y, int font, double size,
    const char *s)
{
	if (s == NULL)
		s = "";
	return pdf_text(p, x - pdf_text_width(font, size, s, strlen(s)), y,
	    font, size, s);
}

long
pdf_wrap(int font, double size, double width, const char *s, size_t n,
    size_t max_lines, pdf_line_fn fn, void *arg)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = 0, i, end, next, brk, clen;
	double w, cw;
	uint32_t cp;
	long lines = 0;

	while (start < n && (max_lines == 0 || (size_t)lines < max_lines)) {
		w = 0;
		brk = SIZE_MAX;
		i = start;
		for (;;) {
			if (i >= n) {
				end = next = n;
				break;
			}
			if (u[i] == '\n') {
				end = i;
				next = i + 1;
				break;
			}
			clen = utf8_next(u + i, n - i, &cp);
			cw = code_width(font, winansi(cp)) * size / 1000.0;
			if (u[i] == ' ')
				brk = i;
			if (w + cw > width && i > start) {
				if (brk != SIZE_MAX && brk > start) {
					/* Break at the last space; the
					 * spaces there start no line. */
					end = next = brk;
					while (next < n && u[next] == ' ')
						next++;
				} else {
					end = next = i;	/* cut a long word */
				}
				break;
			}
			w += cw;
			i += clen;
		}
		if (fn(arg, s + start, end - start) == -1)
			return -1;
		lines++;
		start = next;
	}
	return lines;
}

struct para {
	struct pdf	*p;
	double		 x, size, leading;
	int		 font;
};

/* Draw one wrapped line at the cursor (pdf_wrap's callback). */
static int
para_line(void *arg, const char *s, size_t n)
{
	struct para *pa = arg;
	struct pdf *p = pa->p;

	if (pdf_need(p, pa->leading) == -1)
		return -1;
	if (pdf_text_n(p, pa->x, p->y - pa->size, pa->font, pa->size, s,
	    n) == -1)
		return -1;
	p->y -= pa->leading;
	return 0;
}

int
pdf_paragraph(struct pdf *p, double x, double width, int font,
    double size, double leading, const char *s)
{
	struct para pa;

	if (p->failed)
		return -1;
	if (s == NULL)
		return 0;
	pa.p = p;
	pa.x = x;
	pa.size = size;
	pa.leading = leading;
	pa.font = font;
	return pdf_wrap(font, size, width, s, strlen(s), 0, para_line,
	    &pa) == -1 ? -1 : 0;
}

int
pdf_line(struct pdf *p, double x1, double y1, double x2, double y2,
    double lw)
{
	pbuf_num(p, &p->page, lw);
	PB(p, &p->page, "w ");
	pbuf_num(p, &p->page, x1);
	pbuf_num(p, &p->page, y1);
	PB(p, &p->page, "m ");
	pbuf_num(p, &p->page, x2);
	pbuf_num(p, &p->page, y2);
	PB(p, &p->page, "l S\n");
	return p->failed ? -1 : 0;
}

static int
rect_path(struct pdf *p, double x, double y, double w, double h)
{
	pbuf_num(p, &p->page, x);
	pbuf_num(p, &p->page, y);
	pbuf_num(p, &p->page, w);
	pbuf_num(p, &p->page, h);
	return PB(p, &p->page, "re ");
}

int
pdf_rect(struct pdf *p, double x, double y, double w, double h, double lw)
{
	pbuf_num(p, &p->page, lw);
	PB(p, &p->page, "w ");
	rect_path(p, x, y, w, h);
	PB(p, &p->page, "S\n");
	return p->failed ? -1 : 0;
}

int
pdf_fill_rect(struct pdf *p, double x, double y, double w, double h)
{
	rect_path(p, x, y, w, h);
	PB(p, &p->page, "f\n");
	return p->failed ? -1 : 0;
}

int
pdf_polyline(struct pdf *p, const double *xs, const double *ys, size_t n,
    double lw)
{
	size_t i;

	if (n < 2)
		return p->failed ? -1 : 0;
	pbuf_num(p, &p->page, lw);
	PB(p, &p->page, "w 1 j ");	/* round joins */
	for (i = 0; i < n && !p->failed; i++) {
		pbuf_num(p, &p->page, xs[i]);
		pbuf_num(p, &p->page, ys[i]);
		pbuf_add(p, &p->page, i == 0 ? "m " : "l ", 2);
	}
	PB(p, &p->page, "S 0 j\n");
	return p->failed ? -1 : 0;
}

/* ------------------------------------------------------------ document */

struct pdf *
pdf_new(const char *title, const char *footer)
{
	static const char *const fonts[2] = { "Helvetica", "Helvetica-Bold" };
	struct pdf *p;
	int i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->out.max = PDF_BYTES_MAX;
	p->page.max = PDF_PAGE_RAW_MAX;
	if (title != NULL && (p->title = strdup(title)) == NULL) {
		free(p);
		return NULL;
	}
	if (footer != NULL)
		pk_strlcpy(p->footer, footer, sizeof(p->footer));
	/* The binary comment tells transfer programs this is not text. */
	PB(p, &p->out, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
	for (i = 0; i < 2; i++) {
		p->off[OBJ_FONT + i] = p->out.len;
		pbuf_printf(p, &p->out, "%d 0 obj\n<< /Type /Font /Subtype "
		    "/Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>\n"
		    "endobj\n", OBJ_FONT + i, fonts[i]);
	}
	page_begin(p);
	if (p->failed) {
		pdf_free(p);
		return NULL;
	}
	return p;
}

void
pdf_free(struct pdf *p)
{
	if (p == NULL)
		return;
	free(p->out.b);
	free(p->page.b);
	free(p->title);
	free(p);
}

/*
 * The title as a UTF-16BE text string with its byte-order mark, in hex:
 * /Info strings are not WinAnsi, and this way any character survives.
 */
static int
info_title(struct pdf *p)
{
	const unsigned char *u;
	size_t i = 0, n, ncp = 0;
	uint32_t cp, hi, lo;

	PB(p, &p->out, "/Title <FEFF");
	if (p->title != NULL) {
		u = (const unsigned char *)p->title;
		n = strlen(p->title);
		while (i < n && ncp++ < TITLE_CPS_MAX) {
			i += utf8_next(u + i, n - i, &cp);
			if (cp < 0x20)
				cp = ' ';
			if (cp >= 0x10000) {
				hi = 0xd800 + ((cp - 0x10000) >> 10);
				lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
				pbuf_printf(p, &p->out, "%04X%04X",
				    (unsigned)hi, (unsigned)lo);
			} else {
				pbuf_printf(p, &p->out, "%04X", (unsigned)cp);
			}
		}
	}
	return PB(p, &p->out, ">");
}

static int
write_tail(struct pdf *p)
{
	size_t xref;
	int i, nobj = OBJ_FIRST_PAGE + 2 * p->npages;

	p->off[OBJ_PAGES] = p->out.len;
	pbuf_printf(p, &p->out, "%d 0 obj\n<< /Type /Pages /Count %d /Kids [",
	    OBJ_PAGES, p->npages);
	for (i = 0; i < p->npages && !p->failed; i++)
		pbuf_printf(p, &p->out, "%s%d 0 R", i ? " " : "",
		    OBJ_FIRST_PAGE + 2 * i + 1);
	PB(p, &p->out, "] >>\nendobj\n");
	p->off[OBJ_CATALOG] = p->out.len;
	pbuf_printf(p, &p->out, "%d 0 obj\n<< /Type /Catalog /Pages %d 0 R "
	    ">>\nendobj\n", OBJ_CATALOG, OBJ_PAGES);
	p->off[OBJ_INFO] = p->out.len;
	pbuf_printf(p, &p->out, "%d 0 obj\n<< ", OBJ_INFO);
	info_title(p);
	PB(p, &p->out, " /Producer (Picket) /Creator (picket-hub) >>\n"
	    "endobj\n");
	/* Each xref entry is exactly 20 bytes, its end-of-line " \n". */
	xref = p->out.len;
	pbuf_printf(p, &p->out, "xref\n0 %d\n0000000000 65535 f \n", nobj);
	for (i = 1; i < nobj && !p->failed; i++)
		pbuf_printf(p, &p->out, "%010zu 00000 n \n", p->off[i]);
	pbuf_printf(p, &p->out, "trailer\n<< /Size %d /Root %d 0 R /Info %d "
	    "0 R >>\nstartxref\n%zu\n%%%%EOF\n", nobj, OBJ_CATALOG, OBJ_INFO,
	    xref);
	return p->failed ? -1 : 0;
}

int
pdf_finish(struct pdf *p, unsigned char **out, size_t *len, char *err,
    size_t errlen)
{
	*out = NULL;
	*len = 0;
	if (!p->failed)
		page_end(p);
	if (!p->failed)
		write_tail(p);
	if (p->failed) {
		pk_errf(err, errlen, "%s", p->err);
		return -1;
	}
	*out = p->out.b;
	*len = p->out.len;
	p->out.b = NULL;
	p->out.len = p->out.cap = 0;
	/* Spent: nothing more may be drawn. */
	pdf_fail(p, "document already finished");
	return 0;
}
