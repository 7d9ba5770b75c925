/*
 * pdf.h - a small PDF 1.4 writer in memory, for the hub's after-action
 * report (hub/report_pdf.c) and anything else the hub wants to print.  It
 * knows A4 pages, the two standard fonts Helvetica and Helvetica-Bold
 * (base-14, WinAnsiEncoding: no font is embedded), text placed at a point,
 * text wrapped to a width with the fonts' real advance widths, lines,
 * rectangles and colours.  A cursor runs down the page and a new page
 * starts when it would pass the bottom margin.  Content streams are
 * deflated (FlateDecode).  Text is UTF-8: Latin-1 and the common
 * typographic characters are mapped to WinAnsi, anything else prints '?'.
 * Everything is bounded (PDF_PAGES_MAX pages, PDF_BYTES_MAX bytes): a
 * document that would pass a cap stops with an error instead of growing.
 * Errors are sticky: after the first one every call returns -1 and
 * pdf_finish() reports it, so a caller may draw a whole page and check
 * once.  Portable, single-threaded; only the hub calls it.
 */
#ifndef PICKET_HUB_PDF_H
#define PICKET_HUB_PDF_H

#include <stddef.h>

#define PDF_PAGE_W		595.276	/* A4 in points */
#define PDF_PAGE_H		841.890
#define PDF_MARGIN		48.0	/* all four sides */
#define PDF_FOOTER_Y		24.0	/* baseline of the page footer */
#define PDF_PAGES_MAX		500
#define PDF_BYTES_MAX		(32u * 1024u * 1024u)	/* the whole file */
#define PDF_PAGE_RAW_MAX	(2u * 1024u * 1024u)	/* one page's operators */
#define PDF_ERR_MAX		160

enum pdf_font { PDF_HELV = 0, PDF_HELV_BOLD = 1 };

struct pdf;

/*
 * A new document whose /Info title is title (UTF-8, may be NULL), its
 * first page started and the cursor at its top margin.  footer (may be
 * NULL) is printed at the bottom left of every page, the page number at
 * the bottom right.  NULL when there is no memory.
 */
struct pdf *pdf_new(const char *title, const char *footer);
void pdf_free(struct pdf *p);

/*
 * The finished file: malloc'd bytes in *out (the caller frees), *len.
 * 0, or -1 with the first error in err; the document is spent either way
 * (only pdf_free() may follow).
 */
int pdf_finish(struct pdf *p, unsigned char **out, size_t *len, char *err,
    size_t errlen);

/* 1 once an error happened (a cap reached, no memory). */
int pdf_failed(const struct pdf *p);

/* End this page and start another, cursor at the top.  0 or -1. */
int pdf_new_page(struct pdf *p);
/* Pages so far, the current one included. */
int pdf_pages(const struct pdf *p);

/*
 * The cursor is the top of the free space on the page, in points from
 * the page's bottom: flowing content goes below it and moves it down.
 * pdf_need() starts a new page unless h points fit between the cursor and
 * the bottom margin; it returns 1 when it did, 0 when not, -1 on error.
 */
double pdf_y(const struct pdf *p);
void pdf_set_y(struct pdf *p, double y);
int pdf_need(struct pdf *p, double h);

/* Colours for what follows: grey 0 (black) .. 1 (white), or RGB 0..1. */
void pdf_grey(struct pdf *p, double g);
void pdf_rgb(struct pdf *p, double r, double g, double b);

/* Width in points of UTF-8 text s[0..n) in font at size. */
double pdf_text_width(int font, double size, const char *s, size_t n);

/*
 * One line of text s (NUL-terminated UTF-8) with its baseline starting at
 * (x, y); no wrapping.  0 or -1.
 */
int pdf_text(struct pdf *p, double x, double y, int font, double size,
    const char *s);
/* The same for s[0..n), which need not be NUL-terminated. */
int pdf_text_n(struct pdf *p, double x, double y, int font, double size,
    const char *s, size_t n);
/* The same, right-aligned so that it ends at x. */
int pdf_text_right(struct pdf *p, double x, double y, int font, double size,
    const char *s);

/*
 * Split s[0..n) into lines no wider than width (at spaces; a word longer
 * than a line is cut), honouring '\n'.  Calls fn(arg, line, len) for each
 * line, at most max_lines times (0: no limit); returns the number of
 * lines it produced, or -1 when fn did.  Does not draw.
 */
typedef int (*pdf_line_fn)(void *arg, const char *line, size_t len);
long pdf_wrap(int font, double size, double width, const char *s, size_t n,
    size_t max_lines, pdf_line_fn fn, void *arg);

/*
 * Flowing text: s wrapped to width from x, one line every leading points
 * from the cursor down, new pages as needed; the cursor ends below the
 * last line.  0 or -1.
 */
int pdf_paragraph(struct pdf *p, double x, double width, int font,
    double size, double leading, const char *s);

/* Vector drawing in the current colour; lw is the line width. */
int pdf_line(struct pdf *p, double x1, double y1, double x2, double y2,
    double lw);
int pdf_rect(struct pdf *p, double x, double y, double w, double h,
    double lw);
int pdf_fill_rect(struct pdf *p, double x, double y, double w, double h);
/* A polyline through n points (xs[i], ys[i]); n >= 2. */
int pdf_polyline(struct pdf *p, const double *xs, const double *ys,
    size_t n, double lw);

#endif
