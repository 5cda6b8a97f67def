#include "backends/http/curl_events.h"

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/aw_clock.h"

/* Events handed to libcurl per wait; more stay ready for the next one. */
#define EVENTS_PER_WAIT 64

/* A socket's entry in the epoll set is remembered as libcurl's per-socket
 * pointer (curl_multi_assign): its events plus one, so NULL means not in
 * the set. A connection is taken out of the set after each transfer and put
 * back when reused, so this saves a syscall per change. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    aw_curl_events *e = userp;
    if (what == CURL_POLL_REMOVE) {
        /* libcurl says so before it closes the socket, and forgets socketp. */
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {.data.fd = fd};
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev.events |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev.events |= EPOLLOUT;
    uintptr_t was = (uintptr_t)socketp;
    if (was == (uintptr_t)ev.events + 1)
        return 0;
    int rc = epoll_ctl(e->epfd, was ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    if (rc != 0 && errno == (was ? ENOENT : EEXIST)) /* the set knew better */
        rc = epoll_ctl(e->epfd, was ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    if (rc != 0)
        return -1; /* libcurl fails the transfers of that socket */
    curl_multi_assign(e->multi, fd, (void *)((uintptr_t)ev.events + 1));
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    aw_curl_events *e = userp;
    e->due_us = timeout_ms < 0 ? INT64_MAX : aw_mono_now_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

CURLMcode aw_curl_events_init(aw_curl_events *e, CURLM *multi)
{
    e->multi = multi;
    e->due_us = INT64_MAX;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0)
        return CURLM_OUT_OF_MEMORY;
    CURLMcode mc = curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, e);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(multi, CURLMOPT_TIMERDATA, e);
    return mc;
}

void aw_curl_events_close(aw_curl_events *e)
{
    if (!e->multi) /* zeroed: never attached */
        return;
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, NULL);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, NULL);
    e->multi = NULL;
    if (e->epfd >= 0)
        close(e->epfd);
    e->epfd = -1;
}

CURLMcode aw_curl_events_run(aw_curl_events *e, int max_wait_ms)
{
    int64_t now = aw_mono_now_us();
    int wait_ms = max_wait_ms < 0 ? 0 : max_wait_ms;
    if (e->due_us != INT64_MAX) {
        int64_t until_due = e->due_us <= now ? 0 : (e->due_us - now + 999) / 1000;
        if (until_due < wait_ms)
            wait_ms = (int)until_due;
    }
    struct epoll_event ev[EVENTS_PER_WAIT];
    int n = epoll_wait(e->epfd, ev, EVENTS_PER_WAIT, wait_ms);
    int running;
    for (int i = 0; i < n; i++) {
        int mask = 0;
        if (ev[i].events & EPOLLIN)
            mask |= CURL_CSELECT_IN;
        if (ev[i].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (ev[i].events & (EPOLLERR | EPOLLHUP))
            mask |= CURL_CSELECT_ERR;
        CURLMcode mc = curl_multi_socket_action(e->multi, ev[i].data.fd, mask, &running);
        if (mc != CURLM_OK)
            return mc;
    }
    /* n < 0 is EINTR (nothing else can fail with a valid descriptor and
     * buffer): the timer below still runs. */
    if (e->due_us != INT64_MAX && e->due_us <= aw_mono_now_us()) {
        e->due_us = INT64_MAX; /* libcurl sets it again if it wants */
        return curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return CURLM_OK;
}
