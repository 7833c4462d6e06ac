import { socketBehaviourSuite } from "./behaviour.ts";
import { TRANSPORTS } from "./support.ts";

socketBehaviourSuite(TRANSPORTS.upgrade);
