// nodetool in one JVM for a whole drive (`validation/cassandra nodetool --serve`).
//
// Each nodetool call starting its own JVM cost some 0.8 s of CPU: six calls a sample and a
// flush of the trace tables every few seconds took a sixth of a core from the node under test on
// a two-core machine (its GC share rose with them). This server starts once and runs each call
// through Cassandra's own NodeTool class, so the output is nodetool's, byte for byte.
//
// Protocol, over stdin and stdout: it writes "READY\n" once started; then for each request line
// (nodetool's arguments separated by tabs) it answers "STATUS OUT_BYTES ERR_BYTES\n" followed by
// the command's standard output and standard error, UTF-8. It exits when stdin closes.
//
// One command is its own: `recent-histogram KS TABLE METRIC` prints a table histogram's counts
// since the previous such call (the metric's JMX getRecentValues), a line "VALUE COUNT" for each
// bucket that has any, VALUE being the bucket's upper bound ("inf" past the last). nodetool tablehistograms gives
// percentiles of a reservoir that decays over minutes; this gives what one sample's reads did.
//
// Run as a single-file source program: java -cp 'validation/target/lib/*' NodetoolServer.java HOST PORT

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.cassandra.metrics.CassandraMetricsRegistry;
import org.apache.cassandra.metrics.DecayingEstimatedHistogramReservoir;
import org.apache.cassandra.tools.INodeProbeFactory;
import org.apache.cassandra.tools.NodeProbe;
import org.apache.cassandra.tools.NodeTool;
import org.apache.cassandra.tools.Output;

public class NodetoolServer
{
    static final Probes PROBES = new Probes();

    /**
     * One JMX connection for every call: NodeTool closes its probe after each command, which here
     * leaves it open. A connection a call (one a second for the trace flush) made the node under
     * test set up an RMI connection each time: the drive's share of the node's allocation went
     * from 14.6 to 13.4 MB/s with one (validation/allocation --overhead).
     */
    static final class KeptProbe extends NodeProbe
    {
        KeptProbe(String host, int port) throws IOException
        {
            super(host, port);
        }

        @Override
        public void close()
        {
        }
    }

    /** NodeTool's own factory is package-private; this one hands out the one kept probe. */
    static final class Probes implements INodeProbeFactory
    {
        private KeptProbe kept;

        public synchronized NodeProbe create(String host, int port) throws IOException
        {
            if (kept == null)
                kept = new KeptProbe(host, port);
            return kept;
        }

        public NodeProbe create(String host, int port, String user, String password) throws IOException
        {
            return new NodeProbe(host, port, user, password);
        }
    }

    public static void main(String[] argv) throws IOException
    {
        if (argv.length != 2)
        {
            System.err.println("usage: NodetoolServer HOST JMX_PORT");
            System.exit(2);
        }
        String host = argv[0];
        String port = argv[1];
        PrintStream protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        // Anything Cassandra's classes print on their own goes to stderr, never into the protocol.
        System.setOut(System.err);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        protocol.print("READY\n");
        protocol.flush();
        String line;
        while ((line = in.readLine()) != null)
        {
            String[] args = line.isEmpty() ? new String[0] : line.split("\t", -1);
            String[] full = new String[args.length + 4];
            full[0] = "-h";
            full[1] = host;
            full[2] = "-p";
            full[3] = port;
            System.arraycopy(args, 0, full, 4, args.length);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream outStream = new PrintStream(out, true, StandardCharsets.UTF_8);
            PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
            int status;
            try
            {
                if (args.length > 0 && args[0].equals("recent-histogram"))
                    status = recentHistogram(host, Integer.parseInt(port), args, outStream, errStream);
                else
                    status = new NodeTool(PROBES, new Output(outStream, errStream)).execute(full);
            }
            catch (Throwable t)
            {
                t.printStackTrace(errStream);
                status = 1;
            }
            outStream.flush();
            errStream.flush();
            byte[] o = out.toByteArray();
            byte[] e = err.toByteArray();
            protocol.print(status + " " + o.length + " " + e.length + "\n");
            protocol.write(o, 0, o.length);
            protocol.write(e, 0, e.length);
            protocol.flush();
        }
    }

    /** Counts since the previous call, one line a bucket that has any. */
    static int recentHistogram(String host, int port, String[] args, PrintStream out, PrintStream err) throws IOException
    {
        if (args.length != 4)
        {
            err.println("usage: recent-histogram KEYSPACE TABLE METRIC");
            return 1;
        }
        NodeProbe probe = PROBES.create(host, port);
        {
            Object metric = probe.getColumnFamilyMetric(args[1], args[2], args[3]);
            if (!(metric instanceof CassandraMetricsRegistry.JmxHistogramMBean))
            {
                err.println(args[3] + " is not a histogram of " + args[1] + "." + args[2]);
                return 1;
            }
            long[] counts = ((CassandraMetricsRegistry.JmxHistogramMBean) metric).getRecentValues();
            long[] withZero = DecayingEstimatedHistogramReservoir.DEFAULT_WITH_ZERO_BUCKET_OFFSETS;
            long[] withoutZero = DecayingEstimatedHistogramReservoir.DEFAULT_WITHOUT_ZERO_BUCKET_OFFSETS;
            // The reservoir keeps one bucket past its offsets for values beyond the last.
            long[] offsets = counts.length == withZero.length + 1 ? withZero
                           : counts.length == withoutZero.length + 1 ? withoutZero : null;
            if (offsets == null)
            {
                err.println("unknown bucket layout: " + counts.length + " buckets");
                return 1;
            }
            for (int i = 0; i < counts.length; i++)
                if (counts[i] != 0)
                    out.println((i < offsets.length ? Long.toString(offsets[i]) : "inf") + " " + counts[i]);
            return 0;
        }
    }
}
