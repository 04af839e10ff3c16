// anchors: ns-3 (Debian's libns3-dev) measured on this machine, in the same `make bench` run as
// precraft, so that every ratio compares two figures of one run.  Nothing of precraft's is
// here: ns-3 alone, doing the work precraft's figure beside it does.
//
//   anchors hold PENDING MEAN_NS OPS   ns-3's bench-scheduler hold model: PENDING events
//                                      pending, each one run schedules one more at now + an
//                                      exponential delay of mean MEAN_NS, OPS in all; events/s
//                                      for each of ns-3's schedulers, and the best
//   anchors e2e TRACE                  the capture's packets (sizes and times) sent as UDP
//                                      datagrams from a host through a router to a host over
//                                      point-to-point links (ns-3's own IPv4 stack and global
//                                      routing): simulated packets per second of wall time
//
// Output: "key value" lines, as the bench program's.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

using namespace ns3;

static double wall_s()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- the hold model ----------------------------------------------------------------------

struct Hold
{
    Ptr<ExponentialRandomVariable> delay;
    uint64_t left;

    void Fire()
    {
        if (left == 0)
            return;
        left--;
        Simulator::Schedule(NanoSeconds((uint64_t)delay->GetValue()), &Hold::Fire, this);
    }
};

static double hold_one(const char* scheduler, uint64_t pending, double mean_ns, uint64_t ops)
{
    ObjectFactory f;
    f.SetTypeId(scheduler);
    Simulator::SetScheduler(f);
    Hold h;
    h.delay = CreateObject<ExponentialRandomVariable>();
    h.delay->SetAttribute("Mean", DoubleValue(mean_ns));
    h.delay->SetStream(1);
    h.left = ops;
    for (uint64_t i = 0; i < pending; i++)
        Simulator::Schedule(NanoSeconds((uint64_t)h.delay->GetValue()), &Hold::Fire, &h);
    double t0 = wall_s();
    Simulator::Run(); // the pending events run out once 'ops' have been rescheduled
    double s = wall_s() - t0;
    Simulator::Destroy();
    return (double)(ops + pending) / s;
}

static int hold(uint64_t pending, double mean_ns, uint64_t ops)
{
    // The list scheduler is quadratic, and the calendar scheduler, its buckets sized by the
    // mean gap, ran for over 20 minutes at 300,000 pending here: each takes part only where it
    // finishes in seconds.
    const char* all[] = {"ns3::MapScheduler",
                         "ns3::HeapScheduler",
                         "ns3::CalendarScheduler",
                         "ns3::PriorityQueueScheduler",
                         "ns3::ListScheduler"};
    double best = 0;
    const char* best_name = "";
    for (const char* s : all)
    {
        if ((std::strcmp(s, "ns3::ListScheduler") == 0 && pending > 1000) ||
            (std::strcmp(s, "ns3::CalendarScheduler") == 0 && pending > 100000))
            continue;
        double eps = hold_one(s, pending, mean_ns, ops);
        std::printf("ns3_hold_%s %.0f\n", s + 5, eps);
        if (eps > best)
        {
            best = eps;
            best_name = s + 5;
        }
    }
    std::printf("ns3_hold_best %.0f\nns3_hold_best_scheduler %s\n", best, best_name);
    return 0;
}

// ---- end to end --------------------------------------------------------------------------

struct Rec
{
    uint64_t t_ns;
    uint32_t len;
};

struct Sender
{
    Ptr<Socket> sock;
    const std::vector<Rec>* recs;
    size_t next;
    uint64_t t0;

    void Send()
    {
        const Rec& r = (*recs)[next];
        // The frame's bytes less the headers ns-3 adds (PPP 2, IPv4 20, UDP 8).
        uint32_t pay = r.len > 30 ? r.len - 30 : 0;
        sock->Send(Create<Packet>(pay));
        if (++next < recs->size())
            Simulator::Schedule(NanoSeconds((*recs)[next].t_ns - r.t_ns), &Sender::Send, this);
    }
};

static uint64_t received;

static void on_receive(Ptr<Socket> s)
{
    Ptr<Packet> p;
    while ((p = s->Recv()))
        received++;
}

static int e2e(const char* path)
{
    PcapFile pf;
    pf.Open(path, std::ios::in);
    if (pf.Fail())
    {
        std::fprintf(stderr, "anchors: %s: cannot read\n", path);
        return 1;
    }
    bool ns = pf.IsNanoSecMode();
    std::vector<Rec> recs;
    std::vector<uint64_t> raw;
    std::vector<uint8_t> buf(262144 + 1024);
    uint64_t last = 0;
    for (;;)
    {
        uint32_t sec, frac, incl, orig, got;
        pf.Read(buf.data(), (uint32_t)buf.size(), sec, frac, incl, orig, got);
        if (pf.Fail() || pf.Eof())
            break;
        uint64_t t = (uint64_t)sec * 1000000000ull + (ns ? frac : (uint64_t)frac * 1000ull);
        if (t < last)
            t = last; // a capture's clock may step back: sent at once, as precraft's source does
        last = t;
        raw.push_back(t);
        recs.push_back({0, orig > 65000 ? 65000 : orig});
    }
    pf.Close();
    if (recs.empty())
        return 1;
    // The gaps, at most a second each: the concatenated captures jump by years between
    // copies (one starts at the epoch); the per-packet work, the figure here, does not depend
    // on the gaps, and ns-3's clock stays within hours.
    for (size_t i = 1; i < recs.size(); i++)
    {
        uint64_t gap = raw[i] - raw[i - 1];
        recs[i].t_ns = recs[i - 1].t_ns + (gap < 1000000000ull ? gap : 1000000000ull);
    }
    double t0 = wall_s();
    NodeContainer n;
    n.Create(3); // a host, the router, a host
    PointToPointHelper link;
    link.SetDeviceAttribute("DataRate", StringValue("100Gbps"));
    // The captures' GRO frames (up to 64 KiB) go whole, as precraft's links carry them:
    // fragmented, ns-3's reassembly ran 9x slower and timed out a few thousand datagrams.
    link.SetDeviceAttribute("Mtu", UintegerValue(65535));
    link.SetChannelAttribute("Delay", StringValue("1us"));
    link.SetQueue("ns3::DropTailQueue", "MaxSize", StringValue("10000000p"));
    NetDeviceContainer in = link.Install(n.Get(0), n.Get(1)), out = link.Install(n.Get(1), n.Get(2));
    InternetStackHelper ip;
    ip.Install(n);
    // The queue discipline ns-3 installs (FqCoDel) dropped 70 % of the workload's bursts at
    // one instant (where a capture's clock stepped back): a plain FIFO with room for every
    // packet instead, so that ns-3 carries them all (the figure printed says how many).
    TrafficControlHelper tc;
    tc.SetRootQueueDisc("ns3::FifoQueueDisc", "MaxSize", StringValue("10000000p"));
    tc.Install(in); /* before the addresses: Assign installs FqCoDel where there is none */
    tc.Install(out);
    Ipv4AddressHelper a;
    a.SetBase("198.18.0.0", "255.255.255.0");
    a.Assign(in);
    a.SetBase("198.19.0.0", "255.255.255.0");
    Ipv4InterfaceContainer dst = a.Assign(out);
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();
    TypeId udp = TypeId::LookupByName("ns3::UdpSocketFactory");
    Ptr<Socket> sink = Socket::CreateSocket(n.Get(2), udp);
    sink->SetAttribute("RcvBufSize", UintegerValue(1u << 30));
    sink->Bind(InetSocketAddress(Ipv4Address::GetAny(), 9));
    sink->SetRecvCallback(MakeCallback(&on_receive));
    Sender s;
    s.sock = Socket::CreateSocket(n.Get(0), udp);
    s.sock->Connect(InetSocketAddress(dst.GetAddress(1), 9));
    s.recs = &recs;
    s.next = 0;
    Simulator::Schedule(Seconds(0), &Sender::Send, &s);
    Simulator::Run();
    Simulator::Destroy();
    double secs = wall_s() - t0;
    std::printf("ns3_e2e_packets %zu\nns3_e2e_received %llu\nns3_e2e_wall_s %.3f\nns3_e2e_pps %.0f\n", recs.size(),
                (unsigned long long)received, secs, (double)recs.size() / secs);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc == 5 && std::strcmp(argv[1], "hold") == 0)
        return hold(std::strtoull(argv[2], nullptr, 10), std::strtod(argv[3], nullptr),
                    std::strtoull(argv[4], nullptr, 10));
    if (argc == 3 && std::strcmp(argv[1], "e2e") == 0)
        return e2e(argv[2]);
    std::fprintf(stderr, "usage: anchors hold PENDING MEAN_NS OPS | e2e TRACE\n");
    return 2;
}
