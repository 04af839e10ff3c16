// --topology=path: a `precraft sim` scenario inside ns-3, for cross-validation.  Three nodes,
// source -- link.in -- shaper -- link.out -- sink, ns-3's point-to-point links configured from
// the scenario's [link.in] and [link.out]; the scenario's sources emit at the source node (the
// same C code as `precraft sim`'s sources), the shaper node's CPUs are `precraft sim`'s, and
// the sink reports what reached it.  The run's results are `precraft sim`'s scalars.
#include <cstdio>

#include "precraft-ns3.h"

namespace precraft
{

// Counts trace source 'trace' of 'dev' into the node's counter 'which': one a packet, or its
// bytes for SIM_NODE_OUT_BYTES.  '*s' is the node, set once it is open.
static void Count(Ptr<NetDevice> dev, const char* trace, sim_node** s, enum sim_node_count which)
{
    dev->TraceConnectWithoutContext(trace, MakeCallback(+[](sim_node** s, int which, Ptr<const Packet> p) {
                                               auto w = (enum sim_node_count)which;
                                               sim_node_count(*s, w, w == SIM_NODE_OUT_BYTES ? p->GetSize() : 1);
                                           }).Bind(s, (int)which));
}

int RunPath(Run& r)
{
    const struct scenario* scn = r.scn;
    NodeContainer nodes;
    nodes.Create(3); // source, shaper, sink
    PointToPointHelper in, out;
    int code = LinkHelper(scn->in, in) ?: LinkHelper(scn->out, out);
    if (code)
        return code;
    NetDeviceContainer a = in.Install(nodes.Get(0), nodes.Get(1));
    NetDeviceContainer b = out.Install(nodes.Get(1), nodes.Get(2));
    auto src = DynamicCast<PointToPointNetDevice>(a.Get(0));
    auto shIn = DynamicCast<PointToPointNetDevice>(a.Get(1));
    auto shOut = DynamicCast<PointToPointNetDevice>(b.Get(0));
    auto sink = DynamicCast<PointToPointNetDevice>(b.Get(1));
    LinkLoss(scn->in, shIn);
    LinkLoss(scn->out, sink);

    ShaperNode sh(r.h, scn, "", ShaperNode::Framing::Frames);
    uint8_t none[6] = {0};
    sh.AddPort(shIn, none);
    uint8_t sinkMac[6];
    MacFor(2, sinkMac);
    sh.m_outPort = sh.AddPort(shOut, sinkMac);
    // The sources' frames leave the source node over link.in.
    sh.m_emit = [src](const uint8_t* f, uint32_t caplen, uint32_t wirelen, int lt, uint64_t t) {
        struct sim_node_ref ref = {t, 0, nullptr};
        src->Send(FramePacket(f, caplen, wirelen, lt, ref), src->GetBroadcast(), 0x0800);
    };
    // The links' counts, for the policy's signals and the link scalars, as precraft's links
    // count them: offered (queue drops included), queue drops, lost; link.out's bytes sent.
    // ns-3's links count each frame with the PPP header's 2 bytes, which stand for the frame's
    // first 2 (FrameTag): the wire's bytes are the frame's.
    sim_node* sim = nullptr;
    Count(src, "MacTx", &sim, SIM_NODE_IN_OFFERED);
    Count(src, "MacTxDrop", &sim, SIM_NODE_IN_QUEUE_DROP);
    Count(shIn, "PhyRxDrop", &sim, SIM_NODE_IN_LOST);
    Count(shOut, "MacTx", &sim, SIM_NODE_OUT_OFFERED);
    Count(shOut, "MacTxDrop", &sim, SIM_NODE_OUT_QUEUE_DROP);
    Count(shOut, "PhyTxBegin", &sim, SIM_NODE_OUT_BYTES);
    Count(sink, "PhyRxDrop", &sim, SIM_NODE_OUT_LOST);
    sink->SetReceiveCallback(MakeCallback(+[](sim_node** s, Ptr<NetDevice>, Ptr<const Packet> p, uint16_t, const Address&) {
                                 FrameTag tag;
                                 if (p->PeekPacketTag(tag))
                                     sim_node_sink(*s, (uint64_t)Simulator::Now().GetNanoSeconds(), p->GetSize() + 2, &tag.ref);
                                 return true;
                             }).Bind(&sim));

    if ((code = sh.Open()) != 0)
        return code;
    sim = sh.Sim();
    // The run's stop time: run.stop_s, scaled with the sources when run.load is set.
    uint64_t stop = sim_node_stop_ns(sim);
    if (stop != UINT64_MAX)
        Simulator::Stop(NanoSeconds((int64_t)stop) + NanoSeconds(1));
    Simulator::Run();
    code = sh.Failed();
    struct sim_summary sum;
    // Closed at the node's own last event, as `precraft sim`'s run ends at its last event (the
    // sink's arrivals are computed there, not events).
    int c2 = sh.Close(0, &sum);
    if (!r.quiet && !code && !c2)
        printf("ns-3 path: %llu source packets, %llu through the shaper, %llu at the sink; hits %llu, misses %llu; "
               "shaper latency p50/p99 %.0f / %.0f ns (baseline %.0f / %.0f)\n",
               (unsigned long long)sum.source_packets, (unsigned long long)sum.packets_in,
               (unsigned long long)sum.sink_packets, (unsigned long long)sum.hits, (unsigned long long)sum.misses,
               sum.latency_p50_ns, sum.latency_p99_ns, sum.baseline_latency_p50_ns, sum.baseline_latency_p99_ns);
    Simulator::Destroy();
    return code ?: c2;
}

} // namespace precraft
