package io.acteon.bench.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.management.OperatingSystemMXBean;
import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import io.confluent.parallelconsumer.PollContext;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import redis.clients.jedis.Connection;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.params.SetParams;

/**
 * The benchmark peer of acteon-worker: drains the actions bench_load wrote
 * with Confluent Parallel Consumer and answers each on the reply topic in
 * the shape bench_replies reads (outcome, completed_at, source.topic,
 * metadata.sent_us), so one reader measures both tools.
 *
 * <pre>
 *   PeerBench --mode noop|redis|webhook --brokers B --topic T --replies R -n N
 *             [--group G] [--concurrency C] [--redis redis://H:P] [--redis-prefix P]
 *             [--window-ms W] [--webhook URL]
 * </pre>
 *
 * noop parses the action (Jackson) and replies "executed"; redis first takes
 * the action's dedup identity with SET NX PX (a duplicate is replied
 * "deduplicated"); webhook POSTs the action's payload to URL and replies
 * "executed" on a 2xx answer, "failed" otherwise. Stops by itself once N
 * replies are acknowledged and prints one line of key=value figures:
 * replies, executed, deduplicated, failed, rate (replies/s between the
 * first and the last completion), wall_s (from start) and cpu_s (the whole
 * JVM's CPU time, start-up and JIT included, like the worker's figure).
 *
 * Threads: PC's pool of --concurrency threads runs process(); the counters
 * are atomics; the latch releases main once N replies were acknowledged.
 */
public final class PeerBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    /* The worker's replies carry RFC 3339 UTC with milliseconds; so do these. */
    private static final DateTimeFormatter RFC3339_MS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final Map<String, String> opt;
    private final String mode;
    private final String replyTopic;
    private final long total;
    private final JedisPooled redis;
    private final String redisPrefix;
    private final long windowMs;
    private final HttpClient http;
    private final URI webhook;
    private final AtomicLong replies = new AtomicLong();
    private final AtomicLong executed = new AtomicLong();
    private final AtomicLong deduplicated = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong firstDoneMs = new AtomicLong(Long.MAX_VALUE);
    private final AtomicLong lastDoneMs = new AtomicLong();
    private final CountDownLatch done = new CountDownLatch(1);

    private PeerBench(Map<String, String> opt) {
        this.opt = opt;
        this.mode = need("mode");
        this.replyTopic = need("replies");
        this.total = Long.parseLong(need("n"));
        int concurrency = concurrency();
        if (mode.equals("redis")) {
            URI u = URI.create(need("redis"));
            /* One connection per PC thread: a smaller pool would make the
             * threads queue for connections, not for Redis. */
            GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
            pool.setMaxTotal(concurrency);
            pool.setMaxIdle(concurrency);
            this.redis = new JedisPooled(pool, u.getHost(), u.getPort());
        } else {
            this.redis = null;
        }
        this.redisPrefix = opt.getOrDefault("redis-prefix", "peer:");
        this.windowMs = Long.parseLong(opt.getOrDefault("window-ms", "3600000"));
        if (mode.equals("webhook")) {
            this.webhook = URI.create(need("webhook"));
            this.http = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
        } else {
            this.webhook = null;
            this.http = null;
        }
        if (!List.of("noop", "redis", "webhook").contains(mode))
            throw new IllegalArgumentException("unknown --mode " + mode);
    }

    private String need(String key) {
        String v = opt.get(key);
        if (v == null)
            throw new IllegalArgumentException("missing --" + key);
        return v;
    }

    /* 64 PC threads by default; webhook mode 512, the worker's calls in
     * flight against the same target (8 threads x max_concurrency 64). */
    private int concurrency() {
        String c = opt.get("concurrency");
        if (c != null)
            return Integer.parseInt(c);
        return mode.equals("webhook") ? 512 : 64;
    }

    /* The action's dedup identity, as the worker and bench_load make it. */
    private static String identity(JsonNode action) {
        JsonNode key = action.path("dedup_key");
        String k = key.isTextual() ? key.asText() : action.path("id").asText();
        return action.path("namespace").asText() + ":" + action.path("tenant").asText() + ":" + k;
    }

    /* What happens to one action; returns its outcome. */
    private String execute(JsonNode action, String identity) throws Exception {
        switch (mode) {
        case "redis":
            String set = redis.set(redisPrefix + identity, "1", SetParams.setParams().nx().px(windowMs));
            return set == null ? "deduplicated" : "executed";
        case "webhook":
            HttpRequest req = HttpRequest.newBuilder(webhook)
                    .timeout(Duration.ofSeconds(5))
                    .header("Content-Type", "application/json")
                    .header("X-Acteon-Action-Id", action.path("id").asText())
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(action.path("payload"))))
                    .build();
            int status = http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
            return status / 100 == 2 ? "executed" : "failed";
        default:
            return "executed";
        }
    }

    /* PC calls this on one of its threads, one record at a time (KEY
     * order: records of one key never run together). */
    private ProducerRecord<String, String> process(PollContext<String, String> ctx) throws Exception {
        var rec = ctx.getSingleConsumerRecord();
        Instant dispatched = Instant.now();
        JsonNode action = JSON.readTree(rec.value());
        String identity = identity(action);
        String outcome = execute(action, identity);
        Instant completed = Instant.now();
        ObjectNode reply = JSON.createObjectNode();
        String id = action.path("id").asText();
        reply.put("record_id", rec.topic() + ":" + rec.partition() + ":" + rec.offset());
        reply.put("action_id", id);
        reply.put("namespace", action.path("namespace").asText());
        reply.put("tenant", action.path("tenant").asText());
        reply.put("provider", action.path("provider").asText());
        reply.put("action_type", action.path("action_type").asText());
        reply.put("dedup_identity", identity);
        reply.put("outcome", outcome);
        if (action.has("metadata"))
            reply.set("metadata", action.get("metadata"));
        ObjectNode source = reply.putObject("source");
        source.put("topic", rec.topic());
        source.put("partition", rec.partition());
        source.put("offset", rec.offset());
        reply.put("worker_id", "peer");
        reply.put("dispatched_at", RFC3339_MS.format(dispatched));
        reply.put("completed_at", RFC3339_MS.format(completed));
        reply.put("duration_ms", Duration.between(dispatched, completed).toMillis());
        countOutcome(outcome, completed.toEpochMilli());
        return new ProducerRecord<>(replyTopic, id, JSON.writeValueAsString(reply));
    }

    private void countOutcome(String outcome, long atMs) {
        (outcome.equals("executed") ? executed : outcome.equals("deduplicated") ? deduplicated : failed)
                .incrementAndGet();
        firstDoneMs.accumulateAndGet(atMs, Math::min);
        lastDoneMs.accumulateAndGet(atMs, Math::max);
    }

    /* PC calls this once the reply is acknowledged by the broker. */
    private void replied() {
        if (replies.incrementAndGet() == total)
            done.countDown();
    }

    private int run() throws InterruptedException {
        long t0 = System.nanoTime();
        String brokers = need("brokers");
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, opt.getOrDefault("group", "peer-" + need("topic")));
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"); /* PC commits */
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        /* As the worker's reply producer: idempotent, acks=all (also the
         * kafka-clients 3.x defaults, stated so a reader need not know). */
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        var consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer());
        var producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
        var options = ParallelConsumerOptions.<String, String>builder()
                .ordering(ProcessingOrder.KEY)
                .commitMode(CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS)
                .maxConcurrency(concurrency())
                .consumer(consumer)
                .producer(producer)
                .build();
        ParallelStreamProcessor<String, String> pc = ParallelStreamProcessor.createEosStreamProcessor(options);
        pc.subscribe(List.of(need("topic")));
        pc.pollAndProduce(ctx -> {
            try {
                return process(ctx);
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                /* PC retries a record whose function threw. */
                throw new IllegalStateException(e);
            }
        }, result -> replied());
        boolean complete = done.await(600, TimeUnit.SECONDS);
        long wallMs = (System.nanoTime() - t0) / 1_000_000;
        pc.close();
        if (redis != null)
            redis.close();
        var os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        double cpuS = os.getProcessCpuTime() / 1e9;
        long span = lastDoneMs.get() - firstDoneMs.get();
        long n = replies.get();
        System.out.printf("replies=%d executed=%d deduplicated=%d failed=%d rate=%.0f wall_s=%.3f cpu_s=%.3f"
                        + " concurrency=%d%n",
                n, executed.get(), deduplicated.get(), failed.get(),
                span > 0 ? (n - 1) * 1000.0 / span : 0.0, wallMs / 1000.0, cpuS, concurrency());
        if (!complete) {
            System.err.printf("peer: only %d of %d replies in 600 s%n", n, total);
            return 1;
        }
        return 0;
    }

    /* --key value pairs; -n N too. */
    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            String k = args[i];
            if (!k.startsWith("-"))
                throw new IllegalArgumentException("expected an option, got " + k);
            m.put(k.replaceFirst("^--?", ""), args[i + 1]);
        }
        if (args.length % 2 != 0)
            throw new IllegalArgumentException("option " + args[args.length - 1] + " has no value");
        return m;
    }

    public static void main(String[] args) throws Exception {
        int rc;
        try {
            rc = new PeerBench(parse(args)).run();
        } catch (IllegalArgumentException e) {
            System.err.println("peer: " + e.getMessage());
            System.err.println("usage: PeerBench --mode noop|redis|webhook --brokers B --topic T --replies R -n N"
                    + " [--group G] [--concurrency C] [--redis redis://H:P] [--redis-prefix P]"
                    + " [--window-ms W] [--webhook URL]");
            rc = 2;
        }
        /* PC's and kafka-clients' non-daemon threads are closed by now, but
         * exit explicitly so a lingering one cannot keep the JVM up. */
        System.exit(rc);
    }
}
