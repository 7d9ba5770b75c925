/*
 * service_win32.c - picketd.exe as a Windows service (service.h).  The
 * service control manager starts "picketd.exe --service"; main() hands
 * its work to pk_svc_run, which connects to the manager with
 * StartServiceCtrlDispatcher and runs that work in ServiceMain, reporting
 * start-pending, then running once the work says it is up, then stopped
 * with its exit status (a failure is an exit code the manager's recovery
 * actions act on: restart after 5 s, 30 s, 60 s).  Stop and shutdown
 * requests arrive on the dispatcher's handler and call the work's stop
 * function, which only sets a flag the capture loop reads.  Install and
 * uninstall are for people without the MSI (`picketd.exe
 * --install-service`); the MSI registers the same service itself.
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "agent/service.h"
#include "common/log.h"
#include "common/util.h"

#define SVC_WAIT_HINT_MS	10000	/* start or stop, at most */
#define SVC_STOP_WAIT_MS	20000	/* uninstall waits this long */

static struct {
	SERVICE_STATUS_HANDLE	 h;
	SERVICE_STATUS		 st;
	int			(*body)(void *);
	void			(*stop)(void *);
	void			*arg;
	int			 rc;
	int			 running;
} svc;

static void
svc_report(DWORD state, DWORD exit_code)
{
	if (svc.h == NULL)
		return;
	svc.st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	svc.st.dwCurrentState = state;
	svc.st.dwControlsAccepted = state == SERVICE_RUNNING ?
	    SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	svc.st.dwWin32ExitCode = exit_code;
	svc.st.dwWaitHint = state == SERVICE_RUNNING ||
	    state == SERVICE_STOPPED ? 0 : SVC_WAIT_HINT_MS;
	if (state == SERVICE_RUNNING || state == SERVICE_STOPPED)
		svc.st.dwCheckPoint = 0;
	else
		svc.st.dwCheckPoint++;
	(void)SetServiceStatus(svc.h, &svc.st);
}

static DWORD WINAPI
svc_handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
	(void)type;
	(void)data;
	(void)ctx;
	switch (control) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		log_info("service: %s requested",
		    control == SERVICE_CONTROL_STOP ? "stop" : "shutdown");
		svc_report(SERVICE_STOP_PENDING, NO_ERROR);
		svc.stop(svc.arg);
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	}
	return ERROR_CALL_NOT_IMPLEMENTED;
}

static void WINAPI
svc_main(DWORD argc, LPSTR *argv)
{
	(void)argc;
	(void)argv;
	svc.h = RegisterServiceCtrlHandlerExA(PK_SVC_NAME, svc_handler, NULL);
	if (svc.h == NULL) {
		log_warnx("service: RegisterServiceCtrlHandlerEx: error %lu",
		    (unsigned long)GetLastError());
		svc.rc = 1;
		return;
	}
	svc_report(SERVICE_START_PENDING, NO_ERROR);
	svc.rc = svc.body(svc.arg);
	log_info("service: stopped (%d)", svc.rc);
	/* A non-zero exit is a failure the recovery actions act on. */
	svc_report(SERVICE_STOPPED, svc.rc == 0 ? NO_ERROR :
	    ERROR_SERVICE_SPECIFIC_ERROR);
	/*
	 * Everything is closed: leave now rather than through the
	 * dispatcher's return, so the executable is no longer in use when an
	 * uninstall that waited for SERVICE_STOPPED goes on to delete it.
	 */
	ExitProcess(svc.rc == 0 ? 0 : 1);
}

int
pk_svc_run(int (*body)(void *), void (*stop)(void *), void *arg, char *err,
    size_t errlen)
{
	SERVICE_TABLE_ENTRYA table[] = {
		{ (LPSTR)PK_SVC_NAME, svc_main },
		{ NULL, NULL },
	};

	svc.body = body;
	svc.stop = stop;
	svc.arg = arg;
	svc.rc = 1;
	if (!StartServiceCtrlDispatcherA(table)) {
		DWORD e = GetLastError();

		snprintf(err, errlen, e ==
		    ERROR_FAILED_SERVICE_CONTROLLER_CONNECT ? "--service is "
		    "for the service control manager; run it from a console "
		    "without --service" : "StartServiceCtrlDispatcher: error "
		    "%lu", (unsigned long)e);
		return -1;
	}
	return svc.rc;
}

void
pk_svc_running(void)
{
	if (svc.running)
		return;
	svc.running = 1;
	svc_report(SERVICE_RUNNING, NO_ERROR);
}

static SC_HANDLE
svc_manager(DWORD access, char *err, size_t errlen)
{
	SC_HANDLE m = OpenSCManagerA(NULL, NULL, access);

	if (m == NULL)
		snprintf(err, errlen, "cannot open the service control "
		    "manager (error %lu): run as an administrator",
		    (unsigned long)GetLastError());
	return m;
}

static int
svc_recovery(SC_HANDLE s, char *err, size_t errlen)
{
	SC_ACTION actions[3] = {
		{ SC_ACTION_RESTART, 5000 },
		{ SC_ACTION_RESTART, 30000 },
		{ SC_ACTION_RESTART, 60000 },
	};
	SERVICE_FAILURE_ACTIONSA fa;

	memset(&fa, 0, sizeof(fa));
	fa.dwResetPeriod = 86400;	/* a day without failure: start over */
	fa.cActions = PK_NELEM(actions);
	fa.lpsaActions = actions;
	if (!ChangeServiceConfig2A(s, SERVICE_CONFIG_FAILURE_ACTIONS, &fa)) {
		snprintf(err, errlen, "setting the restart actions: error %lu",
		    (unsigned long)GetLastError());
		return -1;
	}
	return 0;
}

int
pk_svc_install(const char *config, char *err, size_t errlen)
{
	char exe[MAX_PATH], cmd[2 * MAX_PATH + 64];
	SC_HANDLE m, s;
	DWORD n = GetModuleFileNameA(NULL, exe, sizeof(exe));
	int rc = 0;

	if (n == 0 || n >= sizeof(exe)) {
		snprintf(err, errlen, "cannot find picketd.exe's own path");
		return -1;
	}
	if (config != NULL && strchr(config, '"') != NULL) {
		snprintf(err, errlen, "a configuration path with a quote");
		return -1;
	}
	if (config != NULL)
		snprintf(cmd, sizeof(cmd), "\"%s\" --service -c \"%s\"", exe,
		    config);
	else
		snprintf(cmd, sizeof(cmd), "\"%s\" --service", exe);
	if ((m = svc_manager(SC_MANAGER_CREATE_SERVICE, err, errlen)) == NULL)
		return -1;
	s = CreateServiceA(m, PK_SVC_NAME, PK_SVC_DISPLAY, SERVICE_ALL_ACCESS,
	    SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
	    SERVICE_ERROR_NORMAL, cmd, NULL, NULL, NULL, NULL, NULL);
	if (s == NULL) {
		DWORD e = GetLastError();

		snprintf(err, errlen, e == ERROR_SERVICE_EXISTS ? "the %s "
		    "service is already installed" : "CreateService %s: error "
		    "%lu", PK_SVC_NAME, (unsigned long)e);
		CloseServiceHandle(m);
		return -1;
	}
	if (svc_recovery(s, err, errlen) != 0) {
		/* the service works without them: say so, do not fail */
		log_warnx("service: %s", err);
	}
	CloseServiceHandle(s);
	CloseServiceHandle(m);
	return rc;
}

int
pk_svc_set_recovery(char *err, size_t errlen)
{
	SC_HANDLE m, s;
	int rc;

	if ((m = svc_manager(SC_MANAGER_CONNECT, err, errlen)) == NULL)
		return -1;
	if ((s = OpenServiceA(m, PK_SVC_NAME, SERVICE_CHANGE_CONFIG)) ==
	    NULL) {
		snprintf(err, errlen, "OpenService %s: error %lu", PK_SVC_NAME,
		    (unsigned long)GetLastError());
		CloseServiceHandle(m);
		return -1;
	}
	rc = svc_recovery(s, err, errlen);
	CloseServiceHandle(s);
	CloseServiceHandle(m);
	return rc;
}

int
pk_svc_uninstall(char *err, size_t errlen)
{
	SERVICE_STATUS st;
	SC_HANDLE m, s;
	DWORD waited = 0;

	if ((m = svc_manager(SC_MANAGER_CONNECT, err, errlen)) == NULL)
		return -1;
	s = OpenServiceA(m, PK_SVC_NAME, SERVICE_STOP | SERVICE_QUERY_STATUS |
	    DELETE);
	if (s == NULL) {
		DWORD e = GetLastError();

		snprintf(err, errlen, e == ERROR_SERVICE_DOES_NOT_EXIST ?
		    "the %s service is not installed" : "OpenService %s: "
		    "error %lu", PK_SVC_NAME, (unsigned long)e);
		CloseServiceHandle(m);
		return -1;
	}
	if (ControlService(s, SERVICE_CONTROL_STOP, &st))
		while (st.dwCurrentState != SERVICE_STOPPED &&
		    waited < SVC_STOP_WAIT_MS && QueryServiceStatus(s, &st)) {
			Sleep(250);
			waited += 250;
		}
	if (!DeleteService(s)) {
		snprintf(err, errlen, "DeleteService %s: error %lu",
		    PK_SVC_NAME, (unsigned long)GetLastError());
		CloseServiceHandle(s);
		CloseServiceHandle(m);
		return -1;
	}
	CloseServiceHandle(s);
	CloseServiceHandle(m);
	return 0;
}
