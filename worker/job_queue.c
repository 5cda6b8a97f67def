#include "worker/job_queue.h"

#include <errno.h>
#include <time.h>

#include "common/aw_clock.h"

int aw_job_queue_init(aw_job_queue *q)
{
    q->head = q->tail = NULL;
    q->len = 0;
    q->closed = false;
    q->woken = false;
    if (pthread_mutex_init(&q->lock, NULL))
        return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) {
        pthread_mutex_destroy(&q->lock);
        return -1;
    }
    return 0;
}

void aw_job_queue_destroy(aw_job_queue *q)
{
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
}

void aw_job_queue_push_list(aw_job_queue *q, aw_job *head, aw_job *tail, size_t n)
{
    if (!head)
        return;
    tail->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = head;
    else
        q->head = head;
    q->tail = tail;
    q->len += n;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

void aw_job_queue_wake(aw_job_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->woken = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

void aw_job_queue_push(aw_job_queue *q, aw_job *j) { aw_job_queue_push_list(q, j, j, 1); }

size_t aw_job_queue_pop(aw_job_queue *q, size_t max, int64_t timeout_ms, aw_job **out)
{
    *out = NULL;
    struct timespec deadline;
    if (timeout_ms > 0)
        aw_mono_deadline(&deadline, timeout_ms);
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->closed && !q->woken && timeout_ms != 0) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&q->cond, &q->lock)
                                : pthread_cond_timedwait(&q->cond, &q->lock, &deadline);
        if (rc == ETIMEDOUT)
            break;
    }
    if (timeout_ms != 0)
        q->woken = false;
    size_t n = 0;
    aw_job *first = q->head, *last = NULL;
    while (q->head && n < max) {
        last = q->head;
        q->head = q->head->next;
        n++;
    }
    if (!q->head)
        q->tail = NULL;
    q->len -= n;
    pthread_mutex_unlock(&q->lock);
    if (last) {
        last->next = NULL;
        *out = first;
    }
    return n;
}

void aw_job_queue_close(aw_job_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

size_t aw_job_queue_len(aw_job_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void aw_job_queue_ack(aw_job_queue *done, aw_job *job)
{
    /* Read before the last acknowledgement: the job may be gone after it. */
    aw_job_queue *to = job->home ? job->home : done;
    if (atomic_fetch_sub(&job->pending, 1) <= 1) {
        job->acked_us = aw_mono_now_us();
        aw_job_queue_push(to, job);
    }
}
