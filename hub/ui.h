/*
 * ui.h - the SOC web UI's static files (docs/ui.md), served by the API's
 * evhttp from [api] ui_dir: GET / is index.html, GET /ui/<name> is a
 * regular file directly in that directory.  The page itself is plain
 * JavaScript that talks to the JSON API with the analyst's bearer token;
 * the files are public (they hold no data), so no token is asked for
 * here.  Called by hub/api.c only: hub_ui_set_dir() when the API starts,
 * hub_ui_serve() from its request dispatch before it answers 404.
 */
#ifndef PICKET_HUB_UI_H
#define PICKET_HUB_UI_H

#include <stddef.h>

struct evhttp_request;

#define HUB_UI_FILE_MAX		(2 * 1024 * 1024)	/* bytes per file */
#define HUB_UI_NAME_MAX		128			/* file name bytes */

/* The directory to serve ("" turns the UI off).  0, or -1 if too long. */
int hub_ui_set_dir(const char *dir);

/*
 * Answer req if it is the UI's: method "GET" and path (checked and
 * decoded by hub_path_check) "/" or "/ui/...".  0 when it answered
 * (200 with the file, or a JSON 404), -1 when the request is not the
 * UI's (or the UI is off) and the caller goes on.
 */
int hub_ui_serve(struct evhttp_request *req, const char *method,
    const char *path);

/*
 * Is name a file name the UI may serve: 1..HUB_UI_NAME_MAX bytes of
 * [A-Za-z0-9._-], not starting with '.'.  Exposed for tests.
 */
int hub_ui_name_ok(const char *name);

/* The Content-Type for name by its extension, NULL if not served. */
const char *hub_ui_content_type(const char *name);

#endif
