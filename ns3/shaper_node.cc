// ShaperNode: a node of ns-3 whose frames go through the C model (see precraft-ns3.h).
#include <cstdio>
#include <cstring>

#include "precraft-ns3.h"

namespace precraft
{

NS_OBJECT_ENSURE_REGISTERED(FrameTag);

TypeId FrameTag::GetTypeId()
{
    static TypeId tid = TypeId("precraft::FrameTag").SetParent<Tag>().AddConstructor<FrameTag>();
    return tid;
}

TypeId FrameTag::GetInstanceTypeId() const
{
    return GetTypeId();
}

uint32_t FrameTag::GetSerializedSize() const
{
    return 2 + 4 + 4 + 8 + 8 + 8;
}

void FrameTag::Serialize(TagBuffer b) const
{
    b.WriteU8(head[0]);
    b.WriteU8(head[1]);
    b.WriteU32(caplen);
    b.WriteU32((uint32_t)linktype);
    b.WriteU64(ref.t_src);
    b.WriteU64(ref.flow_id);
    b.WriteU64((uint64_t)(uintptr_t)ref.flow); // the node's own pointer, only ever given back to it
}

void FrameTag::Deserialize(TagBuffer b)
{
    head[0] = b.ReadU8();
    head[1] = b.ReadU8();
    caplen = b.ReadU32();
    linktype = (int32_t)b.ReadU32();
    ref.t_src = b.ReadU64();
    ref.flow_id = b.ReadU64();
    ref.flow = (void*)(uintptr_t)b.ReadU64();
}

void FrameTag::Print(std::ostream& os) const
{
    os << "caplen=" << caplen << " t_src=" << ref.t_src;
}

Ptr<Packet> FramePacket(const uint8_t* frame, uint32_t caplen, uint32_t wirelen, int linktype, const struct sim_node_ref& ref)
{
    FrameTag tag;
    uint32_t head = caplen < 2 ? caplen : 2;
    memcpy(tag.head, frame, head);
    tag.caplen = caplen;
    tag.linktype = linktype;
    tag.ref = ref;
    // The bytes after the first two; a frame captured short is padded to its length on the wire
    // (ns-3's zero bytes, which take no memory).
    Ptr<Packet> p = Create<Packet>(frame + head, caplen - head);
    if (wirelen > caplen)
        p->AddPaddingAtEnd(wirelen - caplen);
    p->AddPacketTag(tag);
    return p;
}

uint32_t FrameBytes(Ptr<const Packet> p, std::vector<uint8_t>& out, FrameTag& tag)
{
    if (!p->PeekPacketTag(tag))
        return 0;
    uint32_t size = p->GetSize();
    uint32_t head = tag.caplen < 2 ? tag.caplen : 2;
    uint32_t caplen = tag.caplen <= size + head ? tag.caplen : size + head;
    out.resize(size + head);
    memcpy(out.data(), tag.head, head);
    p->CopyData(out.data() + head, size);
    return caplen;
}

void MacFor(uint32_t id, uint8_t mac[6])
{
    mac[0] = 0x02; // locally administered, unicast
    mac[1] = 0x50;
    mac[2] = (uint8_t)(id >> 24);
    mac[3] = (uint8_t)(id >> 16);
    mac[4] = (uint8_t)(id >> 8);
    mac[5] = (uint8_t)id;
}

std::string MacText(const uint8_t mac[6])
{
    char s[18];
    snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return s;
}

std::string RouteLine(const std::string& prefix, const uint8_t mac[6], unsigned port)
{
    return prefix + " " + MacText(mac) + " port " + std::to_string(port) + "\n";
}

static uint64_t MacKey(const uint8_t* mac)
{
    uint64_t k = 0;
    for (int i = 0; i < 6; i++)
        k = k << 8 | mac[i];
    return k;
}

ShaperNode::ShaperNode(struct host* h, const struct scenario* scn, std::string name, Framing f)
    : m_host(h),
      m_scn(scn),
      m_name(std::move(name)),
      m_framing(f)
{
    m_io.arg = this;
    m_io.emit = &ShaperNode::Emit;
    m_io.egress = &ShaperNode::Egress;
    m_io.wake = &ShaperNode::Wake;
}

ShaperNode::~ShaperNode()
{
    if (m_hn)
    {
        struct sim_summary sum;
        (void)host_node_close(m_hn, 0, &sum);
    }
}

unsigned ShaperNode::AddPort(Ptr<PointToPointNetDevice> dev, const uint8_t peer_mac[6])
{
    Port p;
    p.dev = dev;
    memcpy(p.peer, peer_mac, 6);
    MacFor(0xff000000u | (uint32_t)dev->GetNode()->GetId() << 8 | (uint32_t)m_ports.size(), p.own);
    m_byMac[MacKey(peer_mac)] = (unsigned)m_ports.size();
    m_ports.push_back(p);
    dev->SetReceiveCallback(MakeCallback(&ShaperNode::Receive, this).Bind((unsigned)m_ports.size() - 1));
    dev->TraceConnectWithoutContext("MacTxDrop", MakeCallback(+[](uint64_t* n, Ptr<const Packet>) { ++*n; }).Bind(&m_portDrops));
    return (unsigned)m_ports.size() - 1;
}

int ShaperNode::Open()
{
    return host_node_open(m_host, m_scn, m_name.c_str(), &m_io, &m_hn) ?: (m_sim = host_node_sim(m_hn), 0);
}

int ShaperNode::Close(uint64_t now_ns, struct sim_summary* sum)
{
    int code = host_node_close(m_hn, now_ns, sum);
    m_hn = nullptr;
    m_sim = nullptr;
    m_held.clear();
    return code;
}

void ShaperNode::Fail(const struct errbuf* eb, int rc)
{
    if (!m_failed)
        m_failed = host_fail(eb, rc);
    Simulator::Stop();
}

void ShaperNode::Wake(void* arg, uint64_t t)
{
    auto* n = static_cast<ShaperNode*>(arg);
    Simulator::Schedule(NanoSeconds((int64_t)t) - Simulator::Now(), &ShaperNode::Run, n, t);
}

void ShaperNode::Run(uint64_t t)
{
    struct errbuf eb = {""};
    if (!m_sim)
        return;
    int rc = sim_node_run(m_sim, t, &eb);
    if (rc)
        Fail(&eb, rc);
}

void ShaperNode::Emit(void* arg, const uint8_t* frame, uint32_t caplen, uint32_t wirelen, int linktype, uint64_t t)
{
    auto* n = static_cast<ShaperNode*>(arg);
    if (n->m_emit)
        n->m_emit(frame, caplen, wirelen, linktype, t);
}

bool ShaperNode::Receive(unsigned port, Ptr<NetDevice> dev, Ptr<const Packet> p, uint16_t proto, const Address& from)
{
    if (!m_sim)
        return false;
    uint64_t now = (uint64_t)Simulator::Now().GetNanoSeconds();
    struct errbuf eb = {""};
    int rc;
    if (m_framing == Framing::Frames)
    {
        FrameTag tag;
        uint32_t caplen = FrameBytes(p, m_buf, tag);
        if (!caplen)
            return false;
        rc = sim_node_frame(m_sim, now, m_buf.data(), caplen, (uint32_t)m_buf.size(), tag.linktype, tag.ref.t_src, &eb);
    }
    else
    {
        // The IP packet as the Ethernet frame a router's port would receive.
        uint32_t size = p->GetSize();
        m_buf.resize(14 + size);
        memcpy(m_buf.data(), m_ports[port].own, 6);
        memcpy(m_buf.data() + 6, m_ports[port].peer, 6);
        m_buf[12] = (uint8_t)(proto >> 8);
        m_buf[13] = (uint8_t)proto;
        p->CopyData(m_buf.data() + 14, size);
        uint64_t id = m_nextId++;
        m_held[id] = p->Copy();
        rc = sim_node_frame(m_sim, now, m_buf.data(), 14 + size, 14 + size, 1 /* Ethernet */, id, &eb);
    }
    if (rc)
        Fail(&eb, rc);
    return true;
}

// RFC 1624's incremental update would do; the header is 20 to 60 bytes: summed again.
static void Ipv4Checksum(uint8_t* ip)
{
    unsigned ihl = (ip[0] & 15u) * 4;
    ip[10] = ip[11] = 0;
    uint32_t s = 0;
    for (unsigned i = 0; i + 1 < ihl; i += 2)
        s += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    ip[10] = (uint8_t)(~s >> 8);
    ip[11] = (uint8_t)~s;
}

void ShaperNode::Egress(void* arg, const uint8_t* frame, uint32_t caplen, uint32_t wirelen, const struct sim_node_ref* ref,
                        uint64_t t)
{
    auto* n = static_cast<ShaperNode*>(arg);
    (void)t;
    if (n->m_framing == Framing::Frames)
    {
        Port& out = n->m_ports[n->m_outPort];
        out.dev->Send(FramePacket(frame, caplen, wirelen, 1, *ref), out.dev->GetBroadcast(), 0x0800);
        return;
    }
    auto held = n->m_held.find(ref->t_src); // (Ip framing: the packet's id)
    if (held == n->m_held.end())
        return;
    Ptr<Packet> p = held->second;
    n->m_held.erase(held);
    if (caplen < 14 + 20)
        return;
    auto port = n->m_byMac.find(MacKey(frame));
    if (port == n->m_byMac.end())
    {
        n->m_noPort++; // a route to a next hop no port has: the frame has nowhere to go
        return;
    }
    Port& out = n->m_ports[port->second];
    uint16_t proto = (uint16_t)(frame[12] << 8 | frame[13]);
    // DCTCP's marking: an ECN-capable IPv4 packet sent into a queue longer than K is marked
    // Congestion Experienced (the switch's AQM, after the engine), on a copy of the bytes.
    const uint8_t* ip = frame + 14;
    if (n->m_ecnK && proto == 0x0800 && (ip[1] & 3) && (ip[1] & 3) != 3 && out.dev->GetQueue()->GetNPackets() > n->m_ecnK)
    {
        n->m_buf.assign(ip, frame + caplen);
        n->m_buf[1] |= 3;
        Ipv4Checksum(n->m_buf.data());
        n->m_ceMarked++;
        ip = n->m_buf.data();
    }
    // The same packet object, its bytes replaced: its tags (FlowMonitor's) go on with it.
    p->RemoveAtStart(p->GetSize());
    p->AddAtEnd(Create<Packet>(ip, caplen - 14));
    if (wirelen > caplen)
        p->AddPaddingAtEnd(wirelen - caplen);
    out.dev->Send(p, out.dev->GetBroadcast(), proto == 0x86dd ? 0x86dd : 0x0800);
}

int LinkHelper(const struct scn_link& l, PointToPointHelper& h)
{
    if (l.loss == SCN_LOSS_GILBERT)
    {
        fprintf(stderr, "precraft-ns3: Gilbert-Elliott loss is not on ns-3's links here: use link.*.loss = bernoulli\n");
        return 2;
    }
    // Rate 0 is an infinite rate in precraft: a frame takes no time on the wire.
    double bps = l.rate_mbps > 0 ? l.rate_mbps * 1e6 : 1e15;
    h.SetDeviceAttribute("DataRate", DataRateValue(DataRate((uint64_t)(bps + 0.5))));
    h.SetChannelAttribute("Delay", TimeValue(NanoSeconds((int64_t)(l.delay_us * 1000 + 0.5))));
    h.SetQueue("ns3::DropTailQueue", "MaxSize", QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, (uint32_t)l.queue_pkts)));
    return 0;
}

void LinkLoss(const struct scn_link& l, Ptr<PointToPointNetDevice> rx)
{
    if (l.loss != SCN_LOSS_BERNOULLI || !(l.loss_p > 0))
        return;
    Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
    em->SetUnit(RateErrorModel::ERROR_UNIT_PACKET);
    em->SetRate(l.loss_p);
    rx->SetReceiveErrorModel(em);
}

} // namespace precraft
