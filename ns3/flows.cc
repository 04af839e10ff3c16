// flows: TCP flows and their completion times (see flows.h).
#include "flows.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ns3/applications-module.h"

namespace precraft
{

void TcpDefaults(const struct scenario* scn, uint32_t buf_bytes, bool sack)
{
    static const char* const cc[] = {"ns3::TcpCubic", "ns3::TcpDctcp", "ns3::TcpNewReno"};
    Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(TypeId::LookupByName(cc[scn->ns3.tcp])));
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1448));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(10));
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(buf_bytes));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(buf_bytes));
    // A datacenter's minimum retransmission timeout, not the Internet's 1 s (RFC 6298): 5 ms.
    Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(MilliSeconds(5)));
    // ... and for a lost SYN the same, not ns-3's 3 s.
    Config::SetDefault("ns3::TcpSocket::ConnTimeout", TimeValue(MilliSeconds(5)));
    // SACK: ns-3 3.37's SACK recovery left flows stalled for the rest of the run in the fabric,
    // with ns-3's own routers as well (4 of 159 flows at load 0.7, run 2; none without SACK),
    // and without SACK its TCP crashed on the WAN (a null TcpTxItem in TcpRateLinux::SkbSent):
    // off in the fabric, on over the WAN.
    Config::SetDefault("ns3::TcpSocketBase::Sack", BooleanValue(sack));
    if (scn->ns3.tcp == 1)
        Config::SetDefault("ns3::TcpSocketBase::UseEcn", EnumValue(TcpSocketState::On));
    // The engine's slow path checks the IPv4 header checksum: ns-3 computes it only when told.
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
}

std::string AddrText(Ipv4Address a)
{
    char s[16];
    uint32_t v = a.Get();
    snprintf(s, sizeof s, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
    return s;
}

void HostInterface(Ptr<Node> n, Ptr<NetDevice> d, Ipv4Address a, Ipv4Mask mask)
{
    Ptr<Ipv4> ip = n->GetObject<Ipv4>();
    int32_t ifc = ip->AddInterface(d);
    ip->AddAddress(ifc, Ipv4InterfaceAddress(a, mask));
    ip->SetUp(ifc);
    Ipv4StaticRoutingHelper srh;
    srh.GetStaticRouting(ip)->SetDefaultRoute(Ipv4Address("0.0.0.0"), ifc);
}

static uint64_t PeerKey(Ipv4Address a, uint16_t port)
{
    return (uint64_t)a.Get() << 16 | port;
}

void FlowSet::Listen(NodeContainer hosts)
{
    PacketSinkHelper sink("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), m_port));
    ApplicationContainer apps = sink.Install(hosts);
    for (uint32_t i = 0; i < apps.GetN(); i++)
        apps.Get(i)->TraceConnectWithoutContext("Rx", MakeCallback(&FlowSet::Rx, this));
    apps.Start(Seconds(0));
}

uint32_t FlowSet::Add(Ptr<Node> src, Ipv4Address from, Ipv4Address to, uint64_t bytes, Time start, int kind)
{
    Flow f;
    f.id = (uint32_t)flows.size();
    f.src = src;
    f.from = from;
    f.to = to;
    f.bytes = bytes ? bytes : 1;
    f.kind = kind;
    f.start_ns = (uint64_t)start.GetNanoSeconds();
    flows.push_back(f);
    Simulator::ScheduleWithContext(src->GetId(), start - Simulator::Now(), &FlowSet::Start, this, f.id);
    return f.id;
}

void FlowSet::Start(uint32_t i)
{
    Flow& f = flows[i];
    f.sock = Socket::CreateSocket(f.src, TcpSocketFactory::GetTypeId());
    f.sock->Bind();
    Address local;
    f.sock->GetSockName(local);
    f.sport = InetSocketAddress::ConvertFrom(local).GetPort();
    m_byPeer[PeerKey(f.from, f.sport)] = i;
    f.left = f.bytes;
    f.sock->SetConnectCallback(MakeCallback(+[](FlowSet* s, uint32_t i, Ptr<Socket>) { s->Send(i); }).Bind(this, i),
                               MakeNullCallback<void, Ptr<Socket>>());
    f.sock->SetSendCallback(MakeCallback(+[](FlowSet* s, uint32_t i, Ptr<Socket>, uint32_t) { s->Send(i); }).Bind(this, i));
    f.sock->Connect(InetSocketAddress(f.to, m_port));
}

void FlowSet::Send(uint32_t i)
{
    Flow& f = flows[i];
    while (f.left > 0)
    {
        uint32_t room = f.sock->GetTxAvailable();
        if (room == 0)
            return;
        uint32_t n = (uint32_t)std::min<uint64_t>({f.left, room, 65536});
        int sent = f.sock->Send(Create<Packet>(n));
        if (sent <= 0)
            return;
        f.left -= (uint64_t)sent;
    }
    f.sock->SetSendCallback(MakeNullCallback<void, Ptr<Socket>, uint32_t>());
    f.sock->Close(); // a FIN after the last byte; the socket is kept (ns-3 frees one let go of)
}

void FlowSet::Rx(Ptr<const Packet> p, const Address& from)
{
    InetSocketAddress a = InetSocketAddress::ConvertFrom(from);
    auto it = m_byPeer.find(PeerKey(a.GetIpv4(), a.GetPort()));
    if (it == m_byPeer.end())
        return;
    Flow& f = flows[it->second];
    f.got += p->GetSize();
    if (!f.done && f.got >= f.bytes)
    {
        f.done = true;
        f.done_ns = (uint64_t)Simulator::Now().GetNanoSeconds();
        m_done++;
        if (onDone)
            onDone(f);
    }
}

void FlowSet::Record(const struct recorder* rec) const
{
    for (const Flow& f : flows)
    {
        struct recorder_flow r = {};
        r.flow_id = f.id + 1;
        r.proto = 6;
        snprintf(r.src, sizeof r.src, "%s", AddrText(f.from).c_str());
        snprintf(r.dst, sizeof r.dst, "%s", AddrText(f.to).c_str());
        r.sport = f.sport;
        r.dport = 0;
        r.bytes = f.got;
        r.packets = (f.got + 1447) / 1448;
        r.first_ns = f.start_ns;
        r.last_ns = f.done ? f.done_ns : 0;
        rec_flow(rec, &r);
    }
}

Ptr<EmpiricalRandomVariable> FlowSizes(bool datamining, uint64_t* mean_bytes)
{
    // Web search (DCTCP's measurement, as pFabric and HPCC use it), bytes.
    static const double ws[][2] = {{0, 0},           {10000, 0.15},    {20000, 0.2},   {30000, 0.3},
                                   {50000, 0.4},     {80000, 0.53},    {200000, 0.6},  {1000000, 0.7},
                                   {2000000, 0.8},   {5000000, 0.9},   {10000000, 0.97}, {30000000, 1}};
    // Data mining (VL2's measurement, as pFabric uses it), in 1460-byte packets.
    static const double dm[][2] = {{1, 0},   {1, 0.5},    {2, 0.6},    {3, 0.7},     {7, 0.8},
                                   {267, 0.9}, {2107, 0.95}, {66667, 0.99}, {666667, 1}};
    Ptr<EmpiricalRandomVariable> v = CreateObject<EmpiricalRandomVariable>();
    v->SetInterpolate(true);
    const double(*t)[2] = datamining ? dm : ws;
    size_t n = datamining ? sizeof dm / sizeof dm[0] : sizeof ws / sizeof ws[0];
    double scale = datamining ? 1460 : 1;
    double mean = 0;
    for (size_t i = 0; i < n; i++)
    {
        v->CDF(t[i][0] * scale, t[i][1]);
        if (i)
            mean += (t[i][1] - t[i - 1][1]) * (t[i][0] + t[i - 1][0]) / 2 * scale;
    }
    *mean_bytes = (uint64_t)mean;
    return v;
}

static double Quantile(std::vector<double> v, double q)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    double pos = q * (double)(v.size() - 1);
    size_t lo = (size_t)pos;
    size_t hi = lo + 1 < v.size() ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

void RecordFct(const struct recorder* rec, const std::vector<Flow>& flows, const std::function<double(const Flow&)>& ideal,
               int kind, const std::string& prefix, bool print)
{
    static const char* const names[] = {"small", "medium", "large", "all"};
    std::vector<double> fct[4], slow[4];
    uint64_t n[4] = {0, 0, 0, 0};
    for (const Flow& f : flows)
    {
        if (f.kind != kind)
            continue;
        int b = f.bytes <= 100000 ? 0 : f.bytes <= 10000000 ? 1 : 2;
        n[b]++, n[3]++;
        if (!f.done)
            continue;
        double t = (double)(f.done_ns - f.start_ns);
        double s = t / ideal(f);
        fct[b].push_back(t), fct[3].push_back(t);
        slow[b].push_back(s), slow[3].push_back(s);
    }
    for (int b = 0; b < 4; b++)
    {
        std::string sfx = prefix + names[b];
        double mean = 0;
        for (double t : fct[b])
            mean += t / (double)fct[b].size();
        rec_scalar(rec, ("flows_" + sfx).c_str(), (double)n[b]);
        rec_scalar(rec, ("flows_done_" + sfx).c_str(), (double)fct[b].size());
        if (fct[b].empty())
            continue;
        rec_scalar(rec, ("fct_mean_ns_" + sfx).c_str(), mean);
        rec_scalar(rec, ("fct_p50_ns_" + sfx).c_str(), Quantile(fct[b], 0.5));
        rec_scalar(rec, ("fct_p99_ns_" + sfx).c_str(), Quantile(fct[b], 0.99));
        rec_scalar(rec, ("slowdown_p50_" + sfx).c_str(), Quantile(slow[b], 0.5));
        rec_scalar(rec, ("slowdown_p99_" + sfx).c_str(), Quantile(slow[b], 0.99));
        if (print)
            printf("  %-14s %5zu of %5llu flows done: FCT mean %.1f us, p99 %.1f us; slowdown p50 %.2f, p99 %.2f\n",
                   sfx.c_str(), fct[b].size(), (unsigned long long)n[b], mean / 1e3, Quantile(fct[b], 0.99) / 1e3,
                   Quantile(slow[b], 0.5), Quantile(slow[b], 0.99));
    }
}

} // namespace precraft
