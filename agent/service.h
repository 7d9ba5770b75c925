/*
 * service.h - picketd.exe as a Windows service (service_win32.c): the
 * service control dispatcher and handler, and installing or removing the
 * service with the service control manager.  Only agent/main_win32.c
 * calls it; Linux has systemd units instead (packaging/systemd).
 */
#ifndef PICKET_SERVICE_H
#define PICKET_SERVICE_H

#include <stddef.h>

#define PK_SVC_NAME	"picketd"
#define PK_SVC_DISPLAY	"Picket agent"

/*
 * Run body(arg) as the service's work, under the service control
 * manager: the service reports running when body calls
 * pk_svc_running(), and a stop or shutdown request calls stop(arg) from
 * the handler thread.  Returns body's exit status, or -1 when the process
 * was not started by the service control manager (err says so).
 */
int pk_svc_run(int (*body)(void *), void (*stop)(void *), void *arg,
    char *err, size_t errlen);
/* From body: the service is up (capture open); later calls do nothing. */
void pk_svc_running(void);

/*
 * Register this executable as the auto-start service PK_SVC_NAME running
 * "<exe> --service [-c config]", restarted by the service control manager
 * 5 s, 30 s and 60 s after a failure.  0, or -1 with err.
 */
int pk_svc_install(const char *config, char *err, size_t errlen);
/* Stop it if it runs and remove it.  0, or -1 with err. */
int pk_svc_uninstall(char *err, size_t errlen);
/* Set the restart-on-failure actions of the installed service (the MSI
 * installs the service without them).  0, or -1 with err. */
int pk_svc_set_recovery(char *err, size_t errlen);

#endif
