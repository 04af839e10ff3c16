// precraft-ns3: precraft's shaper as a node of ns-3 (Debian's 3.37).  The only C++ of the
// project: a thin layer that moves frames and time between ns-3 and the C model (sim/node.h,
// cli/host.h), which does all of precraft's work: the engine, the CPU model and its costs, the
// policy, the statistics and the results store.
//
//   shaper_node.cc  ShaperNode: a node whose ports are ns-3 point-to-point devices; every frame
//                   they receive goes to the C model, every frame it sends goes out of a port
//   path.cc         --topology=path: a `precraft sim` scenario (sources, link.in, the shaper,
//                   link.out, the sink) on ns-3's links: the cross-validation
//   flows.cc        TCP flows for the closed-loop topologies: sizes, arrivals, completion times
//   leafspine.cc    --topology=leafspine: a leaf-spine fabric of shaper nodes
//   vpn.cc          --topology=vpn: two gateways with the tunnel between two sites
//   main.cc         the command line (ns-3's CommandLine), the run, FlowMonitor's XML
#ifndef PRECRAFT_NS3_H
#define PRECRAFT_NS3_H

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ns3/core-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

extern "C" {
#include "cli/host.h"
}

namespace precraft
{

using namespace ns3;

// A shaper node: ports are point-to-point devices.  Framing::Frames carries the scenario's own
// frames (path.cc: the same bytes on the wire as `precraft sim`'s links); Framing::Ip carries
// the IP packets of ns-3's hosts, framed as Ethernet for the engine and unframed on the way out.
class ShaperNode
{
  public:
    enum class Framing
    {
        Frames,
        Ip
    };
    ShaperNode(struct host* h, const struct scenario* scn, std::string name, Framing f);
    ~ShaperNode();
    // Port k: 'dev' (this node's side of a link) and the MAC address its peer answers to (the
    // routes' next hops).  Call before Open.
    unsigned AddPort(Ptr<PointToPointNetDevice> dev, const uint8_t peer_mac[6]);
    int Open(); // 0 or an exit code (printed)
    int Close(uint64_t now_ns, struct sim_summary* sum);
    struct sim_node* Sim() { return m_sim; }
    int Failed() const { return m_failed; }
    // Frames framing: where the shaper's egress goes (the port), and the sources' frames.
    unsigned m_outPort = 1;
    std::function<void(const uint8_t*, uint32_t, uint32_t, int, uint64_t)> m_emit;
    // Ip framing: CE-mark ECN-capable packets sent into a port queue longer than this (0: off).
    uint32_t m_ecnK = 0;
    uint64_t m_ceMarked = 0, m_noPort = 0, m_portDrops = 0; // marked, no port, its ports' queues dropped

  private:
    static void Emit(void* arg, const uint8_t* frame, uint32_t caplen, uint32_t wirelen, int linktype, uint64_t t);
    static void Egress(void* arg, const uint8_t* frame, uint32_t caplen, uint32_t wirelen, const struct sim_node_ref* ref,
                       uint64_t t);
    static void Wake(void* arg, uint64_t t);
    void Run(uint64_t t);
    bool Receive(unsigned port, Ptr<NetDevice> dev, Ptr<const Packet> p, uint16_t proto, const Address& from);
    void Fail(const struct errbuf* eb, int rc);

    struct Port
    {
        Ptr<PointToPointNetDevice> dev;
        uint8_t peer[6], own[6];
    };
    struct host* m_host;
    const struct scenario* m_scn;
    std::string m_name;
    Framing m_framing;
    struct host_node* m_hn = nullptr;
    struct sim_node* m_sim = nullptr;
    struct sim_node_io m_io;
    std::vector<Port> m_ports;
    std::map<uint64_t, unsigned> m_byMac;            // next hop's MAC -> port
    std::unordered_map<uint64_t, Ptr<Packet>> m_held; // Ip: each packet until its egress (its tags)
    uint64_t m_nextId = 1;
    std::vector<uint8_t> m_buf;
    int m_failed = 0;
};

// The Frames framing: a frame's first two bytes ride in this tag, so that the point-to-point
// device's 2-byte PPP header takes their place on the wire and a frame occupies exactly its
// own length there, as on `precraft sim`'s links; the tag also carries the frame's captured
// length, link type and what the node gave with it (sim_node_ref: its source time, its flow).
class FrameTag : public Tag
{
  public:
    uint8_t head[2] = {0, 0};
    uint32_t caplen = 0;
    int32_t linktype = 1;
    struct sim_node_ref ref = {0, 0, nullptr};
    static TypeId GetTypeId();
    TypeId GetInstanceTypeId() const override;
    uint32_t GetSerializedSize() const override;
    void Serialize(TagBuffer b) const override;
    void Deserialize(TagBuffer b) override;
    void Print(std::ostream& os) const override;
};
Ptr<Packet> FramePacket(const uint8_t* frame, uint32_t caplen, uint32_t wirelen, int linktype, const struct sim_node_ref& ref);
// The frame back out of a packet: into 'out', its captured length; 'tag' filled.
uint32_t FrameBytes(Ptr<const Packet> p, std::vector<uint8_t>& out, FrameTag& tag);

// A point-to-point link as a scenario's [link.*] describes one (rate, delay, drop-tail queue of
// queue_pkts, Bernoulli loss at the receiver); Gilbert-Elliott is refused (-1, printed).
int LinkHelper(const struct scn_link& l, PointToPointHelper& h);
void LinkLoss(const struct scn_link& l, Ptr<PointToPointNetDevice> rx);

// A locally administered MAC address for neighbour 'id' (routes' next hops).
void MacFor(uint32_t id, uint8_t mac[6]);
std::string MacText(const uint8_t mac[6]);
// A route file's line: PREFIX/LEN, the next hop's MAC, the port (see core/route.h).
std::string RouteLine(const std::string& prefix, const uint8_t mac[6], unsigned port);

// What a topology run needs: the run's session, the scenario, where FlowMonitor's XML goes.
struct Run
{
    struct host* h;
    const struct scenario* scn;
    std::string flowmon;       // "" = none
    std::string workdir;       // generated files (routes, tunnel): a fresh folder
    bool quiet = false;
    bool ns3Switches = false;  // leafspine: ns-3's own IPv4 routers instead of shaper nodes
};
int RunPath(Run& r);
int RunLeafSpine(Run& r);
int RunVpn(Run& r);

} // namespace precraft

#endif
