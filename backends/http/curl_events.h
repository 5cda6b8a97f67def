/* Drives a curl multi handle from epoll (libcurl's multi_socket API), so a
 * wake costs what is ready, not what is open.
 *
 * curl_multi_perform() walks every transfer of the multi and
 * curl_multi_poll() hands the kernel every socket on each wait: with 64
 * calls in flight, each answer paid for 64 (measured: poll alone was 18% of
 * the worker's CPU with a 50 ms webhook, 64 calls per thread). Here libcurl
 * says which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when it next
 * wants time (CURLMOPT_TIMERFUNCTION); a wait hands libcurl only the sockets
 * that are ready, and its timeout when due.
 *
 * Ownership: the caller owns the multi handle, which must outlive
 * aw_curl_events_close(); the epoll descriptor is this struct's.
 * Threads: one thread at a time, as the multi handle itself. */
#ifndef AW_CURL_EVENTS_H
#define AW_CURL_EVENTS_H

#include <curl/curl.h>
#include <stdint.h>

typedef struct aw_curl_events {
    CURLM *multi;       /* borrowed */
    int epfd;
    int64_t due_us;     /* aw_mono_now_us() when libcurl wants its timeout
                           action; INT64_MAX: no timer */
} aw_curl_events;

/* Attach to multi (sets its socket and timer callbacks). Returns
 * CURLM_OK, or CURLM_OUT_OF_MEMORY when no epoll descriptor can be had. */
CURLMcode aw_curl_events_init(aw_curl_events *e, CURLM *multi);

/* Detach and close; a zeroed or failed struct is accepted. Call before
 * curl_multi_cleanup(). */
void aw_curl_events_close(aw_curl_events *e);

/* Wait up to max_wait_ms (less when libcurl's timer is due sooner; not at
 * all when it is due now) for socket activity, then let libcurl act on what
 * is ready and on its timer if due. Transfers that ended are then in
 * curl_multi_info_read(). */
CURLMcode aw_curl_events_run(aw_curl_events *e, int max_wait_ms);

#endif
