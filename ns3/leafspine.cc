// --topology=leafspine: a leaf-spine fabric whose switches are shaper nodes (or, with
// --switches=ns3, ns-3's own IPv4 routers, for the benchmark's comparison), hosts running ns-3's
// TCP, flows from the web-search or data-mining size distribution arriving as a Poisson process
// at each host to load its link ns3.load.  Each switch is a precraft engine with its own route
// table (written here: a /32 per host; a remote host through spine host % spines) and the
// scenario's [shaper] and [policy]; its CPUs, costs and queue are `precraft sim`'s.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "flows.h"
#include "ns3/flow-monitor-module.h"

namespace precraft
{

static Ipv4Address HostAddr(uint32_t leaf, uint32_t h)
{
    return Ipv4Address((10u << 24) | (1u << 16) | (leaf << 8) | (h + 1));
}

int RunLeafSpine(Run& r)
{
    const struct scenario* scn = r.scn;
    const uint32_t S = (uint32_t)scn->ns3.spines, L = (uint32_t)scn->ns3.leaves, H = (uint32_t)scn->ns3.hosts;
    const double hostBps = scn->ns3.host_gbps * 1e9, fabBps = scn->ns3.fabric_gbps * 1e9;
    TcpDefaults(scn, 1 << 20, false);
    NodeContainer hosts, leaves, spines;
    hosts.Create(L * H);
    leaves.Create(L);
    spines.Create(S);
    InternetStackHelper stack;
    stack.Install(hosts);
    if (r.ns3Switches)
    {
        stack.Install(leaves);
        stack.Install(spines);
    }
    PointToPointHelper hostLink, fabLink;
    for (PointToPointHelper* h : {&hostLink, &fabLink})
    {
        h->SetChannelAttribute("Delay", TimeValue(NanoSeconds((int64_t)(scn->ns3.hop_us * 1000 + 0.5))));
        h->SetQueue("ns3::DropTailQueue", "MaxSize",
                    QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, (uint32_t)scn->ns3.port_queue)));
    }
    hostLink.SetDeviceAttribute("DataRate", DataRateValue(DataRate((uint64_t)hostBps)));
    fabLink.SetDeviceAttribute("DataRate", DataRateValue(DataRate((uint64_t)fabBps)));

    // Links, and for each switch its ports: (device, the peer's MAC, the hosts behind it).
    struct SwPort
    {
        Ptr<PointToPointNetDevice> dev;
        uint8_t peer[6];
    };
    std::vector<std::vector<SwPort>> ports(L + S);
    // Each switch's routes: a host's /32 through a port (the port's peer is the next hop).
    std::vector<std::vector<std::pair<Ipv4Address, unsigned>>> routes(L + S);
    for (uint32_t l = 0; l < L; l++)
        for (uint32_t h = 0; h < H; h++)
        {
            uint32_t g = l * H + h;
            NetDeviceContainer d = hostLink.Install(hosts.Get(g), leaves.Get(l));
            HostInterface(hosts.Get(g), d.Get(0), HostAddr(l, h), Ipv4Mask("255.0.0.0"));
            SwPort p;
            p.dev = DynamicCast<PointToPointNetDevice>(d.Get(1));
            MacFor(g + 1, p.peer);
            routes[l].push_back({HostAddr(l, h), h});
            ports[l].push_back(p);
        }
    for (uint32_t l = 0; l < L; l++)
        for (uint32_t s = 0; s < S; s++)
        {
            NetDeviceContainer d = fabLink.Install(leaves.Get(l), spines.Get(s));
            SwPort up, down;
            up.dev = DynamicCast<PointToPointNetDevice>(d.Get(0));
            MacFor(0x10000 + s * 256 + l, up.peer);
            down.dev = DynamicCast<PointToPointNetDevice>(d.Get(1));
            MacFor(0x20000 + l * 256 + s, down.peer);
            ports[l].push_back(up);
            ports[L + s].push_back(down);
            // Spine s reaches every host of leaf l through this port; leaf l reaches the remote
            // hosts that hash to spine s through it.
            for (uint32_t h = 0; h < H; h++)
                routes[L + s].push_back({HostAddr(l, h), l});
        }
    for (uint32_t l = 0; l < L; l++)
        for (uint32_t m = 0; m < L; m++)
            for (uint32_t h = 0; m != l && h < H; h++)
            {
                routes[l].push_back({HostAddr(m, h), H + (m * H + h) % S});
            }

    std::vector<std::unique_ptr<ShaperNode>> sw;
    std::vector<struct scenario*> swScn(L + S, nullptr);
    int code = 0;
    for (uint32_t k = 0; k < L + S && !code; k++)
    {
        std::string name = k < L ? "leaf" + std::to_string(k) : "spine" + std::to_string(k - L);
        if (r.ns3Switches)
        {
            // ns-3's own router: an interface per port, a host route per host through the port
            // the shaper's table names.
            Ptr<Ipv4> ip = (k < L ? leaves.Get(k) : spines.Get(k - L))->GetObject<Ipv4>();
            Ipv4StaticRoutingHelper srh;
            Ptr<Ipv4StaticRouting> rt = srh.GetStaticRouting(ip);
            for (size_t p = 0; p < ports[k].size(); p++)
            {
                int32_t ifc = ip->AddInterface(ports[k][p].dev);
                ip->AddAddress(ifc, Ipv4InterfaceAddress(Ipv4Address((172u << 24) | (16u << 16) | (k << 8) | (uint32_t)p),
                                                         Ipv4Mask("255.255.255.255")));
                ip->SetUp(ifc);
            }
            for (auto& rt1 : routes[k])
                rt->AddHostRouteTo(rt1.first, rt1.second + 1);
            continue;
        }
        std::string path = r.workdir + "/" + name + ".routes";
        std::ofstream file(path);
        file << "# " << name << ": generated by precraft-ns3 (leafspine)\n";
        for (auto& rt1 : routes[k])
            file << RouteLine(AddrText(rt1.first) + "/32", ports[k][rt1.second].peer, rt1.second);
        file.close();
        std::string set = "shaper.routes=" + path;
        const char* sets[] = {set.c_str()};
        if ((code = host_node_scenario(scn, sets, 1, &swScn[k])) != 0)
            break;
        sw.emplace_back(new ShaperNode(r.h, swScn[k], name, ShaperNode::Framing::Ip));
        for (SwPort& p : ports[k])
            sw.back()->AddPort(p.dev, p.peer);
        if (scn->ns3.tcp == 1)
            sw.back()->m_ecnK = (uint32_t)scn->ns3.ecn_k;
        code = sw.back()->Open();
    }
    if (code)
    {
        sw.clear();
        for (auto* s : swScn)
            free(s);
        Simulator::Destroy();
        return code;
    }

    // The flows: at each host a Poisson process of flows to hosts drawn uniformly from the
    // others, sizes from the distribution (cut at max_flow_mb), at the rate that loads the host's
    // link ns3.load.  The mean of the sizes as cut is measured on 200,000 draws of a stream of
    // its own.
    uint64_t mean_table;
    Ptr<EmpiricalRandomVariable> size = FlowSizes(scn->ns3.sizes == 1, &mean_table);
    size->SetStream(1);
    const double cap = scn->ns3.max_flow_mb * 1e6;
    Ptr<EmpiricalRandomVariable> probe = FlowSizes(scn->ns3.sizes == 1, &mean_table);
    probe->SetStream(2);
    double mean = 0;
    for (int i = 0; i < 200000; i++)
        mean += std::min(probe->GetValue(), cap) / 200000;
    Ptr<ExponentialRandomVariable> gap = CreateObject<ExponentialRandomVariable>();
    gap->SetStream(3);
    gap->SetAttribute("Mean", DoubleValue(mean * 8 / (scn->ns3.load * hostBps)));
    Ptr<UniformRandomVariable> pick = CreateObject<UniformRandomVariable>();
    pick->SetStream(4);
    FlowSet fs(5001);
    fs.Listen(hosts);
    const double window = scn->ns3.duration_ms / 1e3;
    for (uint32_t g = 0; g < L * H; g++)
        for (double t = gap->GetValue(); t < window; t += gap->GetValue())
        {
            uint32_t d = (uint32_t)pick->GetInteger(0, L * H - 2);
            d += d >= g;
            uint64_t bytes = (uint64_t)std::max(1.0, std::min(std::round(size->GetValue()), cap));
            fs.Add(hosts.Get(g), HostAddr(g / H, g % H), HostAddr(d / H, d % H), bytes, Seconds(t), 0);
        }
    size_t total = fs.flows.size();
    fs.onDone = [&fs, total](Flow&) {
        if (fs.Done() == total)
            Simulator::Stop();
    };
    FlowMonitorHelper fmh;
    Ptr<FlowMonitor> fm;
    if (!r.flowmon.empty())
        fm = fmh.Install(hosts);
    Simulator::Stop(Seconds(4 * window + 0.02));
    if (!r.quiet)
        printf("leafspine: %u spines, %u leaves, %u hosts each; %zu flows (mean %.0f B) at load %.2f over %.1f ms\n", S, L,
               H, total, mean, scn->ns3.load, scn->ns3.duration_ms);
    uint64_t events0 = Simulator::GetEventCount();
    auto t0 = std::chrono::steady_clock::now();
    Simulator::Run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t events = Simulator::GetEventCount() - events0;
    uint64_t now = (uint64_t)Simulator::Now().GetNanoSeconds();

    const struct recorder* rec = host_recorder(r.h);
    double hits = 0, misses = 0, pkts = 0, crafted = 0, ce = 0, noport = 0, qdrops = 0;
    for (auto& s : sw)
    {
        code = code ?: s->Failed();
        struct sim_summary sum;
        int c2 = s->Close(now, &sum);
        code = code ?: c2;
        hits += (double)sum.hits, misses += (double)sum.misses, pkts += (double)sum.packets_in;
        crafted += (double)sum.crafted, ce += (double)s->m_ceMarked, noport += (double)s->m_noPort;
        qdrops += (double)s->m_portDrops;
    }
    // FCT ideal: the handshake's round trip and the data's one way, plus the bytes (with their
    // headers) at the host's rate and one packet's store-and-forward at each further link.
    auto ideal = [&](const Flow& f) {
        uint32_t sl = (f.from.Get() >> 8) & 255, dl = (f.to.Get() >> 8) & 255;
        double links = sl == dl ? 2 : 4;
        double prop = links * scn->ns3.hop_us * 1e3;
        double wire = (double)f.bytes * 1502.0 / 1448.0 * 8e9 / hostBps;
        double sf = sl == dl ? 1502 * 8e9 / hostBps : 1502 * 8e9 / hostBps + 2 * 1502 * 8e9 / fabBps;
        return 3 * prop + wire + sf;
    };
    if (!r.quiet)
        printf("simulated %.3f ms in %.2f s: %llu events (%.0f per second)\n", (double)now / 1e6, wall,
               (unsigned long long)events, (double)events / wall);
    RecordFct(rec, std::vector<Flow>(fs.flows.begin(), fs.flows.end()), ideal, 0, "", !r.quiet);
    fs.Record(rec);
    const struct
    {
        const char* name;
        double v;
    } sc[] = {{"hits", hits},
              {"misses", misses},
              {"packets_in", pkts},
              {"crafted", crafted},
              {"hit_ratio", pkts > 0 ? hits / pkts : 0},
              {"ce_marked", ce},
              {"no_port", noport},
              {"switch_queue_drops", qdrops},
              {"flows", (double)total},
              {"flows_done", (double)fs.Done()},
              {"offered_load", scn->ns3.load},
              {"mean_flow_bytes", mean},
              {"sim_time_ns", (double)now},
              {"ns3_events", (double)events}};
    for (auto& s : sc)
        rec_scalar(rec, s.name, s.v);
    if (!r.quiet && !r.ns3Switches)
        printf("switches: %.0f packets, %.0f hits (%.1f %%), %.0f crafted, %.0f CE-marked, %.0f dropped by full port queues\n",
               pkts, hits, pkts > 0 ? 100 * hits / pkts : 0, crafted, ce, qdrops);
    if (fm)
        fm->SerializeToXmlFile(r.flowmon, true, true);
    sw.clear();
    for (auto* s : swScn)
        free(s);
    Simulator::Destroy();
    return code;
}

} // namespace precraft
