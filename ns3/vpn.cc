// --topology=vpn: two sites joined by two gateways (shaper nodes with the ESP tunnel, each
// sealing what goes to the other site and opening what comes from it) over a WAN link; TCP bulk
// transfers both ways and request/response transactions from site A's clients to site B's
// servers go through the tunnel.  The tunnel file is written here (its keys are fixed test
// values: a simulation's, never a real tunnel's), with the cipher ns3.cipher names;
// shaper.ks_depth = 0 turns keystream pre-computation off.
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <memory>

#include "flows.h"
#include "ns3/flow-monitor-module.h"

namespace precraft
{

static Ipv4Address SiteAddr(int site, uint32_t h)
{
    return site == 0 ? Ipv4Address((198u << 24) | (51u << 16) | (100u << 8) | (h + 1))
                     : Ipv4Address((10u << 24) | (2u << 16) | (h + 1));
}

int RunVpn(Run& r)
{
    const struct scenario* scn = r.scn;
    const uint32_t H = (uint32_t)scn->ns3.hosts;
    const double hostBps = scn->ns3.host_gbps * 1e9, wanBps = scn->ns3.wan_mbps * 1e6;
    const char* cipher = scn->ns3.cipher ? "aes-256-gcm" : "chacha20-poly1305";
    // The WAN's round trip of 2 x wan_ms at its rate: the windows TCP needs to fill it.
    double bdp = wanBps / 8 * 2 * scn->ns3.wan_ms / 1e3;
    TcpDefaults(scn, (uint32_t)std::min(64e6, std::max(1.0 * (1 << 20), 2 * bdp)), true);
    NodeContainer siteA, siteB, gw;
    siteA.Create(H);
    siteB.Create(H);
    gw.Create(2);
    InternetStackHelper stack;
    stack.Install(siteA);
    stack.Install(siteB);
    PointToPointHelper hostLink, wan;
    hostLink.SetDeviceAttribute("DataRate", DataRateValue(DataRate((uint64_t)hostBps)));
    hostLink.SetChannelAttribute("Delay", TimeValue(NanoSeconds((int64_t)(scn->ns3.hop_us * 1000 + 0.5))));
    hostLink.SetQueue("ns3::DropTailQueue", "MaxSize",
                      QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, (uint32_t)scn->ns3.port_queue)));
    wan.SetDeviceAttribute("DataRate", DataRateValue(DataRate((uint64_t)wanBps)));
    wan.SetChannelAttribute("Delay", TimeValue(NanoSeconds((int64_t)(scn->ns3.wan_ms * 1e6 + 0.5))));
    // The WAN's queue holds a round trip's worth of full packets (at least ns3.port_queue).
    uint32_t wanQ = (uint32_t)std::max((double)scn->ns3.port_queue, bdp / 1500);
    wan.SetQueue("ns3::DropTailQueue", "MaxSize", QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, wanQ)));

    struct Port
    {
        Ptr<PointToPointNetDevice> dev;
        uint8_t peer[6];
    };
    std::vector<Port> ports[2];
    std::string routes[2];
    for (int site = 0; site < 2; site++)
        for (uint32_t h = 0; h < H; h++)
        {
            Ptr<Node> n = (site ? siteB : siteA).Get(h);
            NetDeviceContainer d = hostLink.Install(n, gw.Get(site));
            HostInterface(n, d.Get(0), SiteAddr(site, h), Ipv4Mask("255.255.255.0"));
            Port p;
            p.dev = DynamicCast<PointToPointNetDevice>(d.Get(1));
            MacFor((uint32_t)(site * 256 + h + 1), p.peer);
            routes[site] += RouteLine(AddrText(SiteAddr(site, h)) + "/32", p.peer, h);
            ports[site].push_back(p);
        }
    NetDeviceContainer w = wan.Install(gw.Get(0), gw.Get(1));
    for (int site = 0; site < 2; site++)
    {
        Port p;
        p.dev = DynamicCast<PointToPointNetDevice>(w.Get(site));
        MacFor(0x30000 + (uint32_t)(1 - site), p.peer);
        ports[site].push_back(p);
        const char* other = site ? "192.0.2.1/32" : "203.0.113.1/32";
        const char* otherSite = site ? "198.51.100.0/24" : "10.2.0.0/24";
        routes[site] += RouteLine(other, p.peer, H) + RouteLine(otherSite, p.peer, H);
    }
    std::string tunnel = r.workdir + "/vpn.tunnel";
    std::ofstream(tunnel) << "# precraft-ns3 vpn: the two gateways' SAs (fixed test keys: a simulation's)\n"
                          << "esp toB spi 0x00001001 src 192.0.2.1 dst 203.0.113.1 key "
                             "01b8d19504d297fadb8264eab4480c732814e4cc86ce1fcbee560ad796588a77 salt 27a94be4 match "
                             "10.2.0.0/24 cipher "
                          << cipher << "\n"
                          << "esp toA spi 0x00002001 src 203.0.113.1 dst 192.0.2.1 key "
                             "5d2e8f3a9c4b7e1f06a3d8c2b5e9f4a17c3e6b0d9f2a5c8e1b4d7f0a3c6e9b2d salt 9a8b7c6d match "
                             "198.51.100.0/24 cipher "
                          << cipher << "\n";
    std::unique_ptr<ShaperNode> gws[2];
    struct scenario* gscn[2] = {nullptr, nullptr};
    auto cleanup = [&]() {
        gws[0].reset(); // the nodes first: they borrow their scenarios
        gws[1].reset();
        free(gscn[0]);
        free(gscn[1]);
        Simulator::Destroy();
    };
    int code = 0;
    for (int site = 0; site < 2 && !code; site++)
    {
        std::string rpath = r.workdir + (site ? "/gwB.routes" : "/gwA.routes");
        std::ofstream(rpath) << "# gateway " << (site ? "B" : "A") << ": generated by precraft-ns3 (vpn)\n" << routes[site];
        // AES-GCM's costs are aes-gcm.costs' unless the scenario names a profile of its own.
        char aes[4096];
        std::string costs = scn->ns3.cipher && !strcmp(scn->costs, "default") && host_find_data("aes-gcm.costs", aes, sizeof aes)
                                ? std::string("shaper.costs=") + aes
                                : std::string("shaper.costs=") + scn->costs;
        std::string sets[] = {"shaper.routes=" + rpath, "shaper.tunnel=" + tunnel,
                              std::string("shaper.local=") + (site ? "203.0.113.1" : "192.0.2.1"), costs};
        const char* cs[] = {sets[0].c_str(), sets[1].c_str(), sets[2].c_str(), sets[3].c_str()};
        if ((code = host_node_scenario(scn, cs, 4, &gscn[site])) != 0)
            break;
        gws[site].reset(new ShaperNode(r.h, gscn[site], site ? "gwB" : "gwA", ShaperNode::Framing::Ip));
        for (Port& p : ports[site])
            gws[site]->AddPort(p.dev, p.peer);
        code = gws[site]->Open();
    }
    if (code)
    {
        cleanup();
        return code;
    }

    // Bulk: ns3.bulk transfers each way, together ns3.load of the WAN over the window.
    // Request/response: each client of site A asks a server of site B (host i of each) 100 B
    // and is answered 2 to 64 KB, as a Poisson process of 500 requests a second; a transaction
    // is two flows (the answer starts when the request has arrived) and its time is from the
    // request's start to the answer's last byte.
    FlowSet fs(5001);
    fs.Listen(siteA);
    fs.Listen(siteB);
    const double window = scn->ns3.duration_ms / 1e3;
    uint64_t bulkBytes =
        scn->ns3.bulk ? (uint64_t)(scn->ns3.load * wanBps / 8 * window / (double)scn->ns3.bulk) : 0;
    for (uint32_t b = 0; b < scn->ns3.bulk; b++)
    {
        fs.Add(siteA.Get(b % H), SiteAddr(0, b % H), SiteAddr(1, b % H), bulkBytes, Seconds(0), 0);
        fs.Add(siteB.Get(b % H), SiteAddr(1, b % H), SiteAddr(0, b % H), bulkBytes, Seconds(0), 0);
    }
    // Transactions arrive while the bulk transfers run (over the window without bulk), so that
    // they cross the gateways and the WAN as the bulk loads them.
    Ptr<ExponentialRandomVariable> gap = CreateObject<ExponentialRandomVariable>();
    gap->SetStream(3);
    gap->SetAttribute("Mean", DoubleValue(1.0 / 500));
    Ptr<UniformRandomVariable> ans = CreateObject<UniformRandomVariable>();
    ans->SetStream(4);
    std::map<uint32_t, uint64_t> answer;   // request flow -> answer bytes
    std::map<uint32_t, uint32_t> answerOf; // request flow -> its answer's flow
    uint64_t bulkLeft = 2 * scn->ns3.bulk, answersLeft = 0;
    bool arriving = true;
    std::function<void(uint32_t)> request = [&](uint32_t c) {
        if (!arriving)
            return;
        uint32_t id = fs.Add(siteA.Get(c % H), SiteAddr(0, c % H), SiteAddr(1, c % H), 100, Simulator::Now(), 1);
        answer[id] = (uint64_t)ans->GetInteger(2048, 65536);
        answersLeft++;
        Simulator::Schedule(Seconds(gap->GetValue()), [&request, c]() { request(c); });
    };
    for (uint32_t c = 0; c < scn->ns3.rr; c++)
        Simulator::Schedule(Seconds(gap->GetValue()), [&request, c]() { request(c); });
    if (!scn->ns3.bulk)
        Simulator::Schedule(Seconds(window), [&arriving]() { arriving = false; });
    fs.onDone = [&](Flow& f) {
        if (f.kind == 0 && !--bulkLeft)
            arriving = false;
        if (f.kind == 1)
        {
            uint32_t c = (f.from.Get() & 255) - 1, req = f.id;
            Ptr<Node> server = siteB.Get(c % H);
            uint32_t id = fs.Add(server, f.to, f.from, answer[req], Simulator::Now(), 2);
            fs.flows[id].parent = req;
            answerOf[req] = id;
        }
        if (f.kind == 2)
            answersLeft--;
        if (!arriving && !bulkLeft && !answersLeft)
            Simulator::Stop();
    };
    FlowMonitorHelper fmh;
    Ptr<FlowMonitor> fm;
    if (!r.flowmon.empty())
    {
        fm = fmh.Install(siteA);
        fmh.Install(siteB);
    }
    double rtt = 4 * scn->ns3.hop_us * 1e3 + 2 * scn->ns3.wan_ms * 1e6; // ns
    Simulator::Stop(Seconds(4 * window + 0.02) + NanoSeconds((int64_t)(20 * rtt)));
    if (!r.quiet)
        printf("vpn: %u hosts a site, WAN %.0f Mbit/s %.1f ms, %s, ks_depth %llu; %llu bulk each way of %llu B, %llu "
               "request/response clients\n",
               H, scn->ns3.wan_mbps, scn->ns3.wan_ms, cipher, (unsigned long long)scn->ks_depth,
               (unsigned long long)scn->ns3.bulk, (unsigned long long)bulkBytes, (unsigned long long)scn->ns3.rr);
    auto t0 = std::chrono::steady_clock::now();
    uint64_t ev0 = Simulator::GetEventCount();
    Simulator::Run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t events = Simulator::GetEventCount() - ev0;
    uint64_t now = (uint64_t)Simulator::Now().GetNanoSeconds();
    const struct recorder* rec = host_recorder(r.h);
    for (int site = 0; site < 2; site++)
    {
        code = code ?: gws[site]->Failed();
        struct sim_summary sum;
        int c2 = gws[site]->Close(now, &sum);
        code = code ?: c2;
        if (!r.quiet)
            printf("  gateway %c: %llu packets, shaper latency p50/p99 %.0f / %.0f ns (baseline %.0f / %.0f)\n",
                   site ? 'B' : 'A', (unsigned long long)sum.packets_in, sum.latency_p50_ns, sum.latency_p99_ns,
                   sum.baseline_latency_p50_ns, sum.baseline_latency_p99_ns);
    }
    // Bulk throughput; transactions' times (a request's flow with its answer's end).
    double thr = 0, thrMin = 0;
    uint32_t nb = 0;
    for (const Flow& f : fs.flows)
        if (f.kind == 0 && f.done)
        {
            double t = (double)f.bytes * 8e3 / (double)(f.done_ns - f.start_ns); // Mbit/s
            thr += t;
            thrMin = nb++ ? std::min(thrMin, t) : t;
        }
    // A transaction: its request's start, its answer's bytes and end (not done while either is not).
    std::vector<Flow> tx;
    for (const Flow& f : fs.flows)
        if (f.kind == 1)
        {
            Flow t = f;
            t.kind = 3;
            t.bytes = answer[f.id];
            auto a = answerOf.find(f.id);
            t.done = a != answerOf.end() && fs.flows[a->second].done;
            t.done_ns = t.done ? fs.flows[a->second].done_ns : 0;
            tx.push_back(t);
        }
    auto ideal = [&](const Flow& f) { return 2 * rtt + (double)f.bytes * 8e9 / std::min(hostBps, wanBps); };
    if (!r.quiet)
        printf("simulated %.3f ms in %.2f s (%llu events); bulk: %u done, %.1f Mbit/s in all (slowest %.1f)\n",
               (double)now / 1e6, wall, (unsigned long long)events, nb, thr, thrMin);
    RecordFct(rec, tx, ideal, 3, "rr_", !r.quiet);
    RecordFct(rec, std::vector<Flow>(fs.flows.begin(), fs.flows.end()), ideal, 0, "bulk_", false);
    fs.Record(rec);
    const struct
    {
        const char* name;
        double v;
    } sc[] = {{"bulk_throughput_mbps", thr},
              {"bulk_throughput_min_mbps", thrMin},
              {"bulk_done", (double)nb},
              {"transactions", (double)answer.size()},
              {"sim_time_ns", (double)now},
              {"ns3_events", (double)events}};
    for (auto& s : sc)
        rec_scalar(rec, s.name, s.v);
    if (fm)
        fm->SerializeToXmlFile(r.flowmon, true, true);
    cleanup();
    return code;
}

} // namespace precraft
