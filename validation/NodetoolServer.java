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
// Run as a single-file source program: java -cp 'validation/target/lib/*' NodetoolServer.java HOST PORT

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.cassandra.tools.INodeProbeFactory;
import org.apache.cassandra.tools.NodeProbe;
import org.apache.cassandra.tools.NodeTool;
import org.apache.cassandra.tools.Output;

public class NodetoolServer
{
    /** NodeTool's own factory is package-private; this one makes the same probes. */
    static final class Probes implements INodeProbeFactory
    {
        public NodeProbe create(String host, int port) throws IOException
        {
            return new NodeProbe(host, port);
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
                status = new NodeTool(new Probes(), new Output(outStream, errStream)).execute(full);
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
}
